package io.vsnic.orchestrator.model;

/**
 * The kinds of top-level resources, with their API collection and manifest section names.
 */
public enum Kind
{
    NETWORK("network", "networks", "networks", NetworkResource.class),
    SECURITY_GROUP("securityGroup", "security-groups", "securityGroups", SecurityGroupResource.class),
    VNIC("vnic", "vnics", "vnics", VnicResource.class),
    PEER("peer", "peers", "peers", PeerResource.class),
    ENCLAVE("enclave", "enclaves", "enclaves", EnclaveResource.class);

    private final String label;
    private final String collection;
    private final String section;
    private final Class<? extends Resource<?>> type;

    Kind(final String label, final String collection, final String section, final Class<? extends Resource<?>> type)
    {
        this.label = label;
        this.collection = collection;
        this.section = section;
        this.type = type;
    }

    /**
     * @return the singular name used in messages and the journal ("network", "vnic", ...).
     */
    public String label()
    {
        return label;
    }

    /**
     * @return the API path segment under /v1 ("networks", "security-groups", ...).
     */
    public String collection()
    {
        return collection;
    }

    /**
     * @return the manifest section ("networks", "securityGroups", ...).
     */
    public String section()
    {
        return section;
    }

    public Class<? extends Resource<?>> type()
    {
        return type;
    }

    /**
     * @return the kind with a journal label, or null.
     */
    public static Kind ofLabel(final String label)
    {
        for (final Kind kind : values())
        {
            if (kind.label.equals(label))
            {
                return kind;
            }
        }
        return null;
    }

    /**
     * @return the kind with an API collection name, or null.
     */
    public static Kind ofCollection(final String collection)
    {
        for (final Kind kind : values())
        {
            if (kind.collection.equals(collection))
            {
                return kind;
            }
        }
        return null;
    }
}
