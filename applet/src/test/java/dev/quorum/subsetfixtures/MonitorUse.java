package dev.quorum.subsetfixtures;

/** Fixture: a synchronized block (JavaCard has no threads). */
public class MonitorUse {
    void lock(Object o) {
        synchronized (o) {
            o.hashCode();
        }
    }
}
