package dev.quorum.subsetfixtures;

/** Fixture: a string constant, a String field and a StringBuilder. */
public class StringUse {
    String label;

    Object name() {
        return "quorum";
    }

    Object builder() {
        return new StringBuilder();
    }
}
