package io.vsnic.dataplane.security;

/**
 * A connection-table entry as the flow log's collector sees it: filled by
 * {@link ConnectionTable#readEntry}, with the opener ("source") and responder ("destination") told
 * apart, and its packet and byte counts summed over the workers' {@link FlowStripe}s by
 * {@link #sum}. Mutable and reused: one per collector thread.
 *
 * <p>IPv4 addresses are in the low 32 bits of {@link #sourceLow()}/{@link #destinationLow()}, the
 * high words 0. For ICMP and ICMPv6 echo flows both "ports" are the echo identifier.
 */
public final class FlowEntry
{
    private int slot;
    private long version;
    private int network;
    private int protocol;
    private boolean ipv6;
    private long sourceHigh;
    private long sourceLow;
    private long destinationHigh;
    private long destinationLow;
    private int sourcePort;
    private int destinationPort;
    private int state;
    private long forwardPackets;
    private long forwardBytes;
    private long replyPackets;
    private long replyBytes;
    private long firstNs;
    private long lastNs;
    private int openerPort;

    void set(
        final int slot, final long version, final long k0, final long k1, final long k2, final long k3, final long k4,
        final long k5, final boolean openerIsB, final int state)
    {
        this.slot = slot;
        this.version = version;
        this.state = state;
        this.network = (int)(k0 >>> 32);
        this.protocol = (int)(k1 & 0xFF);
        this.ipv6 = (k1 & 0x100) != 0;
        final int portA = (int)(k0 >>> 16) & 0xFFFF;
        final int portB = (int)k0 & 0xFFFF;
        final long aHigh = ipv6 ? k2 : 0;
        final long aLow = ipv6 ? k3 : k2 >>> 32;
        final long bHigh = ipv6 ? k4 : 0;
        final long bLow = ipv6 ? k5 : k2 & 0xFFFF_FFFFL;
        sourceHigh = openerIsB ? bHigh : aHigh;
        sourceLow = openerIsB ? bLow : aLow;
        destinationHigh = openerIsB ? aHigh : bHigh;
        destinationLow = openerIsB ? aLow : bLow;
        sourcePort = openerIsB ? portB : portA;
        destinationPort = openerIsB ? portA : portB;
    }

    /**
     * Sums this entry's counters over every worker's stripe; lines of another version (a previous or
     * later entry of the slot) are left out.
     *
     * @param stripes every worker's stripe.
     */
    public void sum(final FlowStripe[] stripes)
    {
        forwardPackets = 0;
        forwardBytes = 0;
        replyPackets = 0;
        replyBytes = 0;
        firstNs = 0;
        lastNs = 0;
        openerPort = -1;
        boolean any = false;
        for (final FlowStripe stripe : stripes)
        {
            if (stripe.read(slot, FlowStripe.TAG) != version + 1)
            {
                continue;
            }
            forwardPackets += stripe.read(slot, FlowStripe.FORWARD_PACKETS);
            forwardBytes += stripe.read(slot, FlowStripe.FORWARD_BYTES);
            replyPackets += stripe.read(slot, FlowStripe.REPLY_PACKETS);
            replyBytes += stripe.read(slot, FlowStripe.REPLY_BYTES);
            final long first = stripe.read(slot, FlowStripe.FIRST);
            final long last = stripe.read(slot, FlowStripe.LAST);
            if (!any || first - firstNs < 0)
            {
                firstNs = first;
            }
            if (!any || last - lastNs > 0)
            {
                lastNs = last;
            }
            any = true;
            final long port = stripe.read(slot, FlowStripe.OPENER_PORT);
            if (port > 0)
            {
                openerPort = (int)port - 1;
            }
        }
    }

    public int slot()
    {
        return slot;
    }

    /** @return the entry's version: a slot's successive entries differ in it. */
    public long version()
    {
        return version;
    }

    /** @return the virtual network id (VNI). */
    public int network()
    {
        return network;
    }

    public int protocol()
    {
        return protocol;
    }

    public boolean ipv6()
    {
        return ipv6;
    }

    /** @return the opener's address, high 64 bits (0 for IPv4). */
    public long sourceHigh()
    {
        return sourceHigh;
    }

    /** @return the opener's address, low 64 bits (the IPv4 address in the low 32). */
    public long sourceLow()
    {
        return sourceLow;
    }

    public long destinationHigh()
    {
        return destinationHigh;
    }

    public long destinationLow()
    {
        return destinationLow;
    }

    public int sourcePort()
    {
        return sourcePort;
    }

    public int destinationPort()
    {
        return destinationPort;
    }

    /** @return true while the TCP entry is closing (FIN or RST seen). */
    public boolean closing()
    {
        return state == ConnectionTable.STATE_CLOSING;
    }

    /** @return packets from the opener (after {@link #sum}). */
    public long forwardPackets()
    {
        return forwardPackets;
    }

    public long forwardBytes()
    {
        return forwardBytes;
    }

    /** @return packets towards the opener. */
    public long replyPackets()
    {
        return replyPackets;
    }

    public long replyBytes()
    {
        return replyBytes;
    }

    /** @return the earliest worker clock reading at a counted packet (0 when no stripe counted one). */
    public long firstNs()
    {
        return firstNs;
    }

    /** @return the latest worker clock reading at a counted packet. */
    public long lastNs()
    {
        return lastNs;
    }

    /** @return the port the opening packet came from, or -1 when unknown. */
    public int openerPort()
    {
        return openerPort;
    }
}
