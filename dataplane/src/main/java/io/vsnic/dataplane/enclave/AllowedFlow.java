package io.vsnic.dataplane.enclave;

/**
 * A service pair an enclave allows: {@code from} may open connections (or send datagrams) to
 * {@code to} on {@code protocol}/{@code port}; the replies are allowed by connection tracking.
 *
 * @param from     the client service.
 * @param to       the server service.
 * @param protocol IP protocol number (6 TCP, 17 UDP), or -1 for any.
 * @param port     destination port on {@code to} (0..65535; ignored for protocols without ports).
 */
public record AllowedFlow(String from, String to, int protocol, int port)
{
}
