package io.vsnic.dataplane.protocol;

/**
 * IEEE 802.1Q tag as it follows the source MAC: the TPID (0x8100, or 0x88A8 for an 802.1ad service
 * tag) was read as the EtherType; this flyweight is wrapped at the TCI that follows it.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | PCP |D|        VLAN ID        |      inner EtherType          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 */
public final class VlanTagFlyweight extends Flyweight
{
    public static final int TCI_OFFSET = 0;
    public static final int ETHER_TYPE_OFFSET = 2;
    /** Bytes a tag adds to the frame (TPID + TCI). */
    public static final int TAG_LENGTH = 4;

    public int priority()
    {
        return u16(TCI_OFFSET) >>> 13;
    }

    public boolean dropEligible()
    {
        return (u16(TCI_OFFSET) & 0x1000) != 0;
    }

    public int vlanId()
    {
        return u16(TCI_OFFSET) & 0x0FFF;
    }

    public VlanTagFlyweight tci(final int priority, final boolean dropEligible, final int vlanId)
    {
        u16(TCI_OFFSET, (priority & 7) << 13 | (dropEligible ? 0x1000 : 0) | (vlanId & 0x0FFF));
        return this;
    }

    public int etherType()
    {
        return u16(ETHER_TYPE_OFFSET);
    }

    public VlanTagFlyweight etherType(final int etherType)
    {
        u16(ETHER_TYPE_OFFSET, etherType);
        return this;
    }
}
