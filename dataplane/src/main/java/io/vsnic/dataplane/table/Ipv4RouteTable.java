package io.vsnic.dataplane.table;
import java.util.*;
public final class Ipv4RouteTable {
    public static final int NO_ROUTE = -1;
    private final long[] p; private final int[] h;
    private Ipv4RouteTable(TreeMap<Long,Integer> m){p=new long[m.size()];h=new int[m.size()];int i=0;for(var e:m.entrySet()){p[i]=e.getKey();h[i++]=e.getValue();}}
    public static Ipv4RouteTable empty(){return builder().build();}
    public int lookup(int a){int best=-1,bl=-1;for(int i=0;i<p.length;i++){int len=(int)(p[i]&63);int pre=(int)(p[i]>>>6);int mask=len==0?0:-1<<(32-len);if((a&mask)==pre&&len>bl){bl=len;best=h[i];}}return best;}
    public int size(){return p.length;} public long memoryBytes(){return p.length*12L;}
    public Builder toBuilder(){Builder b=new Builder();for(int i=0;i<p.length;i++)b.m.put(p[i],h[i]);return b;}
    public static Builder builder(){return new Builder();}
    public static final class Builder { final TreeMap<Long,Integer> m=new TreeMap<>();
        public Builder add(int prefix,int length,int hop){m.put(((prefix&0xFFFFFFFFL)<<6)|length,hop);return this;}
        public Builder remove(int prefix,int length){m.remove(((prefix&0xFFFFFFFFL)<<6)|length);return this;}
        public int size(){return m.size();} public Ipv4RouteTable build(){return new Ipv4RouteTable(m);} }
}
