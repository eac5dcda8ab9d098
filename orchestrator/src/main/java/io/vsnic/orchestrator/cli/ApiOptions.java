package io.vsnic.orchestrator.cli;

import picocli.CommandLine.Option;

/**
 * {@code --api URL}, shared by every command that talks to a daemon.
 */
final class ApiOptions
{
    @Option(names = "--api", paramLabel = "URL", defaultValue = "${env:VSNIC_API:-http://127.0.0.1:9470}",
        description = "the daemon's API (default: $VSNIC_API or ${DEFAULT-VALUE})")
    String api;

    ApiClient client()
    {
        return new ApiClient(api);
    }
}
