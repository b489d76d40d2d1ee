package dev.quorum.applet;

import javacard.framework.Util;

/**
 * The persistent life-cycle byte and the two record slots. The life-cycle byte also names the
 * active slot, so one single-byte EEPROM write (atomic on every JavaCard) commits INITIALISE,
 * every PUT RECORD and FACTORY RESET: a card pulled before that write keeps what it had.
 */
final class RecordStore {

    /** Commit-byte values: no key/PIN, personalised without record, enrolled with slot 0 or 1 active. */
    private static final byte COMMIT_BLANK = (byte) 0x00;
    private static final byte COMMIT_PERSONALISED = (byte) 0x01;
    private static final byte COMMIT_ENROLLED_SLOT0 = (byte) 0x02;
    private static final byte COMMIT_ENROLLED_SLOT1 = (byte) 0x03;

    /** The commit byte: the only field whose write changes what the card reports. */
    private byte commit;
    /** Record capacity chosen at install (public + sealed). */
    private final short capacity;
    private final byte[] slot0;
    private final byte[] slot1;
    /** Per slot: public length, sealed length (index 2 * slot, 2 * slot + 1). */
    private final short[] lengths;

    /** Allocates both slots in EEPROM (install time only). */
    RecordStore(short capacity) {
        this.capacity = capacity;
        slot0 = new byte[capacity];
        slot1 = new byte[capacity];
        lengths = new short[4];
        commit = COMMIT_BLANK;
    }

    /** Record capacity in bytes. */
    short capacity() {
        return capacity;
    }

    /** Whether INITIALISE completed (and no factory reset completed since). */
    boolean isPersonalised() {
        return commit != COMMIT_BLANK;
    }

    /** Whether a committed record exists. */
    boolean hasRecord() {
        return commit == COMMIT_ENROLLED_SLOT0 || commit == COMMIT_ENROLLED_SLOT1;
    }

    /** The slot holding the committed record (meaningful only if hasRecord()). */
    byte activeSlot() {
        return commit == COMMIT_ENROLLED_SLOT1 ? (byte) 1 : (byte) 0;
    }

    /** The slot a new record is staged in: never the active one. */
    byte stagingSlot() {
        return commit == COMMIT_ENROLLED_SLOT0 ? (byte) 1 : (byte) 0;
    }

    /** The bytes of slot 0 or 1. */
    byte[] slot(byte index) {
        return index == 0 ? slot0 : slot1;
    }

    /** Public length of the committed record. */
    short publicLength() {
        return lengths[(short) (2 * activeSlot())];
    }

    /** Sealed length of the committed record. */
    short sealedLength() {
        return lengths[(short) (2 * activeSlot() + 1)];
    }

    /** Stages bytes into the staging slot with a non-atomic copy: nothing reads it before commit. */
    void stage(short offset, byte[] src, short srcOff, short length) {
        Util.arrayCopyNonAtomic(src, srcOff, slot(stagingSlot()), offset, length);
    }

    /** Records the staged lengths, then makes the staging slot active with one byte write. */
    void commitStaged(short publicLength, short sealedLength) {
        byte slot = stagingSlot();
        lengths[(short) (2 * slot)] = publicLength;
        lengths[(short) (2 * slot + 1)] = sealedLength;
        commit = slot == 0 ? COMMIT_ENROLLED_SLOT0 : COMMIT_ENROLLED_SLOT1;
    }

    /** Commit point of INITIALISE: personalised, no record. */
    void commitPersonalised() {
        commit = COMMIT_PERSONALISED;
    }

    /** Commit point of FACTORY RESET (its first write): blank. */
    void commitBlank() {
        commit = COMMIT_BLANK;
    }

    /** Erases both slots and their lengths (the commit byte is left to the caller). */
    void wipe() {
        lengths[0] = 0;
        lengths[1] = 0;
        lengths[2] = 0;
        lengths[3] = 0;
        Util.arrayFillNonAtomic(slot0, (short) 0, capacity, (byte) 0);
        Util.arrayFillNonAtomic(slot1, (short) 0, capacity, (byte) 0);
    }
}
