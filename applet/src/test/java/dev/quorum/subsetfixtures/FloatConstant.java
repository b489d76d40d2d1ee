package dev.quorum.subsetfixtures;

/** Fixture: a float constant and comparison. */
public class FloatConstant {
    boolean big(short a) {
        return a > 2.5f;
    }
}
