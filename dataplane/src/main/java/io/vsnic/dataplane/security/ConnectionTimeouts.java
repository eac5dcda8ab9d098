package io.vsnic.dataplane.security;
public record ConnectionTimeouts(long tcpSynNs, long tcpEstablishedNs, long tcpClosingNs, long udpNs, long icmpNs) {
 public static ConnectionTimeouts defaults(){return new ConnectionTimeouts(120_000_000_000L,432000_000_000_000L,120_000_000_000L,30_000_000_000L,30_000_000_000L);} }
