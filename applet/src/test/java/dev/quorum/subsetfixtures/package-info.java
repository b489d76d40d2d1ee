/**
 * Deliberately bad classes (and one clean one) that prove the JavaCard subset check can fail.
 * They are test code: never on a card.
 */
package dev.quorum.subsetfixtures;
