package dev.quorum.subsetfixtures;

/** Fixture: an int constant that does not fit a short. */
public class LargeConstant {
    short scale(short a) {
        return (short) (a * 100000);
    }
}
