package dev.quorum.subsetfixtures;

/** Fixture: an int local variable (seen in the LocalVariableTable only). */
public class IntLocal {
    short sum(short a, short b) {
        int s = a + b;
        return (short) s;
    }
}
