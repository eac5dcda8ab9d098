package io.vsnic.orchestrator.model;

/**
 * A top-level resource of the desired state: it has a key (its name or id) and a server-assigned
 * version.
 *
 * @param <T> the resource type.
 */
public interface Resource<T extends Resource<T>>
{
    /**
     * @return the resource's name or id.
     */
    String key();

    /**
     * @return the revision that last changed the resource, or null on input.
     */
    Long version();

    /**
     * @return a copy with another version (null to compare specs without versions).
     */
    T withVersion(Long version);
}
