package io.vsnic.orchestrator.journal;

/**
 * One journal entry as stored.
 *
 * @param type     {@link #SNAPSHOT} (the whole state; first entry of a generation) or {@link #CHANGE}.
 * @param revision the desired-state revision after this entry.
 * @param timeMs   wall-clock time it was written.
 * @param payload  the JSON document (UTF-8).
 */
public record JournalEntry(int type, long revision, long timeMs, byte[] payload)
{
    /** The whole desired state. */
    public static final int SNAPSHOT = 1;
    /** A set of changes applied atomically. */
    public static final int CHANGE = 2;
}
