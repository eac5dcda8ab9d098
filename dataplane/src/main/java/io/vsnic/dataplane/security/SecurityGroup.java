package io.vsnic.dataplane.security;
import java.util.List;
public record SecurityGroup(String name, List<Object> rules) {}
