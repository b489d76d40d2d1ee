package dev.quorum.subsetfixtures;

/** Fixture: an int array (allocated in the constructor, which alone would be fine). */
public class IntArray {
    private final int[] table;

    public IntArray() {
        table = new int[4];
    }

    short at(short i) {
        return (short) table[i];
    }
}
