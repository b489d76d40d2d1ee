package dev.quorum.subsetfixtures;

/** Fixture: an int field. */
public class IntField {
    int counter;
}
