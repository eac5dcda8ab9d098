package io.vsnic.orchestrator.cli;

import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code --api URL} and the credentials for an API that is not on loopback ({@link ApiCredentials}),
 * shared by every command that talks to a daemon.
 */
final class ApiOptions
{
    @Option(names = "--api", paramLabel = "URL", defaultValue = "${env:VSNIC_API:-http://127.0.0.1:9470}",
        description = "the daemon's API, http://... or https://... (default: $VSNIC_API or ${DEFAULT-VALUE})")
    String api;

    @Mixin
    ApiCredentials credentials;

    ApiClient client() throws ApiClient.ApiException
    {
        return credentials.client(api);
    }

    /**
     * @return a client for another daemon's API {@code host:port} with the same scheme and credentials
     *     as {@code --api} (how {@code cluster status} asks every member).
     */
    ApiClient sibling(final String hostPort) throws ApiClient.ApiException
    {
        final String scheme = api.regionMatches(true, 0, "https:", 0, 6) ? "https" : "http";
        return credentials.client(scheme + "://" + hostPort);
    }
}
