package io.vsnic.dataplane.security;
import java.util.List;
public final class CompiledPolicy {
    private final boolean ingressAll;
    private CompiledPolicy(boolean i){ingressAll=i;}
    public static CompiledPolicy compile(List<SecurityGroup> groups){return new CompiledPolicy(!groups.isEmpty());}
    public static CompiledPolicy allowAll(){return new CompiledPolicy(true);}
    public boolean allowsIngressV4(int protocol,int remote,int localPort){return ingressAll;}
    public boolean allowsEgressV4(int protocol,int remote,int remotePort){return true;}
    public boolean allowsIngressV6(int protocol,long h,long l,int localPort){return ingressAll;}
    public boolean allowsEgressV6(int protocol,long h,long l,int remotePort){return true;}
}
