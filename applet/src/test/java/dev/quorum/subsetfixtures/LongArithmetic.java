package dev.quorum.subsetfixtures;

/** Fixture: a long local and long arithmetic. */
public class LongArithmetic {
    short mix(short a) {
        long wide = a * 3L;
        return (short) wide;
    }
}
