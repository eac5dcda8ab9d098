package io.vsnic.dataplane.table;
import java.util.*;
public final class Ipv6RouteTable {
    public static final int NO_ROUTE = -1;
    private final List<long[]> r;
    private Ipv6RouteTable(List<long[]> r){this.r=r;}
    public static Ipv6RouteTable empty(){return builder().build();}
    public int lookup(long hi,long lo){int best=-1,bl=-1;for(long[] e:r){int len=(int)e[2];long mh=len==0?0:len>=64?-1L:-1L<<(64-len);long ml=len<=64?0:len==128?-1L:-1L<<(128-len);if((hi&mh)==e[0]&&(lo&ml)==e[1]&&len>bl){bl=len;best=(int)e[3];}}return best;}
    public int size(){return r.size();} public long memoryBytes(){return r.size()*32L;}
    public Builder toBuilder(){Builder b=new Builder();b.r.addAll(r);return b;}
    public static Builder builder(){return new Builder();}
    public static final class Builder { final List<long[]> r=new ArrayList<>();
        public Builder add(long hi,long lo,int len,int hop){remove(hi,lo,len);r.add(new long[]{hi,lo,len,hop});return this;}
        public Builder remove(long hi,long lo,int len){r.removeIf(e->e[0]==hi&&e[1]==lo&&e[2]==len);return this;}
        public int size(){return r.size();} public Ipv6RouteTable build(){return new Ipv6RouteTable(new ArrayList<>(r));} }
}
