package dev.quorum.subsetfixtures;

/** Fixture: an int parameter. */
public class IntParameter {
    short twice(int x) {
        return (short) (x * 2);
    }
}
