package io.vsnic.dataplane.security;
public final class ConnectionTable {
    public static final int ESTABLISHED=1, REPLY=2, CREATED=3, DENIED=4, MISS_INVALID=5, FULL=6;
    private final java.util.concurrent.ConcurrentHashMap<String,String> m=new java.util.concurrent.ConcurrentHashMap<>(); private final int cap;
    public ConnectionTable(int capacity, ConnectionTimeouts t){cap=capacity;}
    public int trackV4(int network,int protocol,int s,int d,int sp,int dp,int flags,long now,boolean allowNew){
        String f=network+"/"+protocol+"/"+s+":"+sp+">"+d+":"+dp, r=network+"/"+protocol+"/"+d+":"+dp+">"+s+":"+sp;
        if(m.containsKey(f))return ESTABLISHED; if(m.containsKey(r))return REPLY; if(!allowNew)return DENIED;
        if(protocol==6&&(flags&2)==0)return MISS_INVALID; if(m.size()>=cap)return FULL; m.put(f,f);return CREATED;}
    public int trackV6(int network,int protocol,long sh,long sl,long dh,long dl,int sp,int dp,int flags,long now,boolean allowNew){
        return trackV4(network,protocol,(int)(sh^sl^(sh>>>32)^(sl>>>32)),(int)(dh^dl^(dh>>>32)^(dl>>>32)),sp,dp,flags,now,allowNew);}
    public int size(){return m.size();} public int capacity(){return cap;}
}
