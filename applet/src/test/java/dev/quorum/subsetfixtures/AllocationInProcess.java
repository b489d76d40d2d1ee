package dev.quorum.subsetfixtures;

/** Fixture: an array allocated outside the constructor. */
public class AllocationInProcess {
    byte[] scratch() {
        return new byte[8];
    }
}
