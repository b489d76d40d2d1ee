package dev.quorum.subsetfixtures;

/** Fixture: a java.util call. */
public class UtilUse {
    void clear(byte[] b) {
        java.util.Arrays.fill(b, (byte) 0);
    }
}
