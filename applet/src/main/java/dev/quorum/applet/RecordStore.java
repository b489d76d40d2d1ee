package dev.quorum.applet;

import javacard.framework.Util;
import javacard.security.MessageDigest;

/**
 * The persistent commit byte, the two record slots and each slot's public digest (protocol 1.3).
 * The commit byte holds the life-cycle state, which record slot is active, which of the two key
 * slots is active and whether the other key slot holds a pending key (PREPARE KEY), so that one
 * single-byte EEPROM write (atomic on every JavaCard) commits INITIALISE, every PUT RECORD (also one
 * that makes the pending key active), PREPARE KEY and FACTORY RESET: a card pulled before that
 * write keeps what it had.
 */
final class RecordStore {

    /** Bits 0-1 of the commit byte: no key/PIN, personalised without record, enrolled with slot 0 or 1 active. */
    private static final byte COMMIT_BLANK = (byte) 0x00;
    private static final byte COMMIT_PERSONALISED = (byte) 0x01;
    private static final byte COMMIT_ENROLLED_SLOT0 = (byte) 0x02;
    private static final byte COMMIT_ENROLLED_SLOT1 = (byte) 0x03;
    private static final byte RECORD_BITS = (byte) 0x03;
    /** Bit 2: key slot 1 is the active key (else key slot 0). */
    private static final byte ACTIVE_KEY_1 = (byte) 0x04;
    /** Bit 3: the key slot that is not active holds a complete pending key. */
    private static final byte KEY_PENDING = (byte) 0x08;

    /** The commit byte: the only field whose write changes what the card reports. */
    private byte commit;
    /** Record capacity chosen at install (public + sealed). */
    private final short capacity;
    private final byte[] slot0;
    private final byte[] slot1;
    /** Per slot: public length, sealed length (index 2 * slot, 2 * slot + 1). */
    private final short[] lengths;
    /**
     * Per slot: how many leading bytes may hold record data, committed or only staged (a torn or
     * dropped PUT RECORD chain), since the slot was last wiped. It grows before the first byte of
     * a record is staged and goes back to 0 only once the slot is zeroed, so a wipe that zeroes
     * this much leaves no record byte behind, and writes no more than was used.
     */
    private final short[] used;
    /**
     * Per slot: SHA-256 of its public part (32 bytes at 32 * slot), written before the commit byte
     * that makes the slot active, so SELECT never shows a digest of a record it does not hold.
     */
    private final byte[] digests;
    /** SHA-256 for the public digest; a card without it cannot install the applet. */
    private final MessageDigest sha256;

    /**
     * Allocates both slots in EEPROM (install time only). SHA-256 first: on a card without it
     * getInstance throws CryptoException (NO_SUCH_ALGORITHM) and the install fails before the
     * large allocations.
     */
    RecordStore(short capacity) {
        sha256 = MessageDigest.getInstance(MessageDigest.ALG_SHA_256, false);
        digests = new byte[(short) (2 * Constants.DIGEST_LENGTH)];
        this.capacity = capacity;
        slot0 = new byte[capacity];
        slot1 = new byte[capacity];
        lengths = new short[4];
        used = new short[2];
        commit = COMMIT_BLANK;
    }

    /** Record capacity in bytes. */
    short capacity() {
        return capacity;
    }

    /** Whether INITIALISE completed (and no factory reset completed since). */
    boolean isPersonalised() {
        return (byte) (commit & RECORD_BITS) != COMMIT_BLANK;
    }

    /** Whether a committed record exists. */
    boolean hasRecord() {
        return (byte) (commit & COMMIT_ENROLLED_SLOT0) != 0;
    }

    /** The slot holding the committed record (meaningful only if hasRecord()). */
    byte activeSlot() {
        return (byte) (commit & RECORD_BITS) == COMMIT_ENROLLED_SLOT1 ? (byte) 1 : (byte) 0;
    }

    /** The slot a new record is staged in: never the active one. */
    byte stagingSlot() {
        return (byte) (commit & RECORD_BITS) == COMMIT_ENROLLED_SLOT0 ? (byte) 1 : (byte) 0;
    }

    /** The key slot (0 or 1) whose key GET STATUS shows and UNSEAL uses; 0 while BLANK. */
    byte activeKey() {
        return (byte) (commit & ACTIVE_KEY_1) != 0 ? (byte) 1 : (byte) 0;
    }

    /** Whether the other key slot holds a pending key that PUT RECORD P1=01 would make active. */
    boolean hasPendingKey() {
        return (byte) (commit & KEY_PENDING) != 0;
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

    /** The array holding both slots' public digests (read at digestOffset()). */
    byte[] digests() {
        return digests;
    }

    /** Where the committed record's public digest starts in digests(). */
    short digestOffset() {
        return (short) (Constants.DIGEST_LENGTH * activeSlot());
    }

    /**
     * Before the first byte of a record of length bytes is staged: the staging slot's used extent
     * covers it (one short write, only when it grows). A card pulled between this and the staging
     * has a used extent larger than its data, which costs a wipe a few bytes and nothing else.
     */
    void reserve(short length) {
        byte slot = stagingSlot();
        if (length > used[slot]) {
            used[slot] = length;
        }
    }

    /** How many leading bytes of slot 0 or 1 the next wipe zeroes. */
    short usedLength(byte index) {
        return used[index];
    }

    /** Stages bytes into the staging slot with a non-atomic copy: nothing reads it before commit. */
    void stage(short offset, byte[] src, short srcOff, short length) {
        Util.arrayCopyNonAtomic(src, srcOff, slot(stagingSlot()), offset, length);
    }

    /**
     * Records the staged lengths and the staged public part's digest, then makes the staging slot
     * active with one byte write. With withPendingKey the same write makes the pending key active
     * (and no key pending); otherwise the key bits stay as they are, a pending key included.
     * scratch (transient, 32 bytes from scratchOffset) receives the digest before it is copied.
     */
    void commitStaged(short publicLength, short sealedLength, boolean withPendingKey,
            byte[] scratch, short scratchOffset) {
        byte slot = stagingSlot();
        lengths[(short) (2 * slot)] = publicLength;
        lengths[(short) (2 * slot + 1)] = sealedLength;
        digestPublic(slot, publicLength, scratch, scratchOffset);
        byte next = slot == 0 ? COMMIT_ENROLLED_SLOT0 : COMMIT_ENROLLED_SLOT1;
        if (withPendingKey) {
            next |= (byte) (commit & ACTIVE_KEY_1) == 0 ? ACTIVE_KEY_1 : (byte) 0;
        } else {
            next |= (byte) (commit & (byte) (ACTIVE_KEY_1 | KEY_PENDING));
        }
        commit = next;
    }

    /**
     * SHA-256 of slot's first publicLength bytes into its public digest. Hashed in chunks of
     * DIGEST_CHUNK bytes (update, then doFinal on the rest), so no card sees a longer input than
     * that in one call; computed into transient scratch, then copied, so the digest's EEPROM
     * bytes are written by one copy (the staging slot's digest: nothing reads it before commit).
     */
    private void digestPublic(byte slot, short publicLength, byte[] scratch, short scratchOffset) {
        byte[] data = slot(slot);
        sha256.reset();
        short offset = 0;
        while ((short) (publicLength - offset) > Constants.DIGEST_CHUNK) {
            sha256.update(data, offset, Constants.DIGEST_CHUNK);
            offset = (short) (offset + Constants.DIGEST_CHUNK);
        }
        sha256.doFinal(data, offset, (short) (publicLength - offset), scratch, scratchOffset);
        Util.arrayCopyNonAtomic(scratch, scratchOffset, digests,
                (short) (Constants.DIGEST_LENGTH * slot), Constants.DIGEST_LENGTH);
    }

    /** Commit point of INITIALISE: personalised, no record, key slot 0 active, nothing pending. */
    void commitPersonalised() {
        commit = COMMIT_PERSONALISED;
    }

    /** Commit point of PREPARE KEY: the other key slot, now complete, is pending. */
    void commitPendingKey() {
        commit = (byte) (commit | KEY_PENDING);
    }

    /** First write of a PREPARE KEY that replaces a pending key: nothing pending while it is regenerated. */
    void dropPendingKey() {
        commit = (byte) (commit & (byte) ~KEY_PENDING);
    }

    /** Commit point of FACTORY RESET (its first write): blank, key slot 0, nothing pending. */
    void commitBlank() {
        commit = COMMIT_BLANK;
    }

    /**
     * Erases both slots, their lengths and their public digests (the commit byte is left to the
     * caller): in each slot only the used extent, which is reset once its bytes are zero, so a wipe
     * cut short is finished by the next one.
     */
    void wipe() {
        lengths[0] = 0;
        lengths[1] = 0;
        lengths[2] = 0;
        lengths[3] = 0;
        Util.arrayFillNonAtomic(digests, (short) 0, (short) digests.length, (byte) 0);
        wipeSlot((byte) 0);
        wipeSlot((byte) 1);
    }

    /** Zeroes the used extent of slot 0 or 1, then forgets it; an unused slot costs no write. */
    private void wipeSlot(byte index) {
        short extent = used[index];
        if (extent != 0) {
            Util.arrayFillNonAtomic(slot(index), (short) 0, extent, (byte) 0);
            used[index] = 0;
        }
    }
}
