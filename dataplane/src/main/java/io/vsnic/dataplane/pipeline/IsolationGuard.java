package io.vsnic.dataplane.pipeline;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;

import io.vsnic.dataplane.protocol.ArpFlyweight;
import io.vsnic.dataplane.protocol.FrameLayout;
import io.vsnic.dataplane.protocol.Ipv4Flyweight;
import io.vsnic.dataplane.status.DropReason;
import io.vsnic.dataplane.table.Prefixes;

/**
 * What one isolation domain (the customer networks of a device, or one service enclave) knows about
 * the <em>other</em> domains of the device: their VNIs and IPv4 address spaces. It never forwards
 * anything: a data plane resolves every frame only against its own {@link
 * io.vsnic.dataplane.table.ForwardingState}, which holds nothing of another domain, so a cross-domain
 * frame always ends in a drop (unknown VNI, no route, spoofed source...). The guard only names that
 * drop: when the frame's VNI or one of its addresses belongs to another domain, or when this domain
 * is an enclave (which carries nothing but its own traffic) and the frame came with a VNI not its
 * own, the drop is counted as {@link DropReason#ENCLAVE_ISOLATION}.
 *
 * <p>Immutable; read by the workers through a volatile reference in {@link DataPlane}. The check
 * runs only for frames already dropped, so it costs nothing on the forwarding path.
 */
public final class IsolationGuard
{
    private static final IsolationGuard NONE = new IsolationGuard(false, new int[0], new int[0], new int[0]);

    private final boolean enclave;
    private final int[] foreignVnis;
    private final int[] foreignAddresses;
    private final int[] foreignMasks;

    private IsolationGuard(final boolean enclave, final int[] foreignVnis, final int[] foreignAddresses, final int[] foreignMasks)
    {
        this.enclave = enclave;
        this.foreignVnis = foreignVnis;
        this.foreignAddresses = foreignAddresses;
        this.foreignMasks = foreignMasks;
    }

    /**
     * @return the guard of a data plane that knows of no other domain (no drop is renamed).
     */
    public static IsolationGuard none()
    {
        return NONE;
    }

    /**
     * @param enclave          true for an enclave's data plane: every overlay frame with a VNI it
     *                         does not serve is an isolation drop.
     * @param foreignVnis      the VNIs of the other domains of this device.
     * @param foreignPrefixes  the IPv4 address spaces ("10.77.0.0/24") of the other domains.
     * @throws IllegalArgumentException for a prefix that is not an IPv4 CIDR.
     */
    public static IsolationGuard of(final boolean enclave, final List<Integer> foreignVnis, final List<String> foreignPrefixes)
    {
        final int[] vnis = foreignVnis.stream().mapToInt(Integer::intValue).sorted().distinct().toArray();
        final int[] addresses = new int[foreignPrefixes.size()];
        final int[] masks = new int[foreignPrefixes.size()];
        for (int i = 0; i < addresses.length; i++)
        {
            final String text = foreignPrefixes.get(i);
            if (text == null || text.indexOf(':') >= 0)
            {
                throw new IllegalArgumentException("isolation prefix must be an IPv4 CIDR: " + text);
            }
            final Prefixes.Ipv4Prefix prefix = Prefixes.parseIpv4(text);
            masks[i] = prefix.length() == 0 ? 0 : -1 << (32 - prefix.length());
            addresses[i] = prefix.address() & masks[i];
        }
        return new IsolationGuard(enclave, vnis, addresses, masks);
    }

    /**
     * @return true for an enclave's data plane.
     */
    public boolean isEnclave()
    {
        return enclave;
    }

    /**
     * @return true when the VNI belongs to another domain of this device.
     */
    public boolean isForeignVni(final int vni)
    {
        return Arrays.binarySearch(foreignVnis, vni) >= 0;
    }

    /**
     * @return true when the IPv4 address lies in another domain's address space.
     */
    public boolean isForeignAddress(final int address)
    {
        for (int i = 0; i < foreignAddresses.length; i++)
        {
            if ((address & foreignMasks[i]) == foreignAddresses[i])
            {
                return true;
            }
        }
        return false;
    }

    /**
     * Names a drop: returns {@link DropReason#ENCLAVE_ISOLATION} when the dropped frame was a
     * cross-domain attempt, else the reason unchanged. Allocation-free.
     *
     * @param reason  the drop's reason ordinal (non-zero).
     * @param vni     the frame's VNI when it came from the overlay, else -1.
     * @param layout  the frame's classification (its L3 fields are read only when it is valid).
     * @param segment the frame's memory.
     * @param ipv4    a scratch flyweight.
     * @param arpView a scratch flyweight.
     */
    int reclassify(final int reason, final int vni, final FrameLayout layout, final MemorySegment segment,
        final Ipv4Flyweight ipv4, final ArpFlyweight arpView)
    {
        if (reason == DropReason.UNKNOWN_VNI.ordinal() || reason == DropReason.VNI_NOT_ALLOWED.ordinal())
        {
            return enclave || vni >= 0 && isForeignVni(vni) ? DropReason.ENCLAVE_ISOLATION.ordinal() : reason;
        }
        if (foreignAddresses.length == 0 || !layout.isValid() || layout.isDropInInner() || reason == DropReason.TX_QUEUE_FULL.ordinal() ||
            reason == DropReason.POOL_EXHAUSTED.ordinal())
        {
            return reason;
        }
        if (layout.l3Type() == FrameLayout.L3_IPV4)
        {
            ipv4.wrap(segment, layout.l3Offset());
            return isForeignAddress(ipv4.source()) || isForeignAddress(ipv4.destination()) ?
                DropReason.ENCLAVE_ISOLATION.ordinal() : reason;
        }
        if (layout.l3Type() == FrameLayout.L3_ARP)
        {
            arpView.wrap(segment, layout.l3Offset());
            return isForeignAddress(arpView.senderIp()) || isForeignAddress(arpView.targetIp()) ?
                DropReason.ENCLAVE_ISOLATION.ordinal() : reason;
        }
        return reason;
    }

    @Override
    public String toString()
    {
        return "IsolationGuard{enclave=" + enclave + ", foreignVnis=" + Arrays.toString(foreignVnis) + ", foreignPrefixes=" +
            foreignAddresses.length + '}';
    }
}
