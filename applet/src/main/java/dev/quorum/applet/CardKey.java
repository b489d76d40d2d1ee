package dev.quorum.applet;

import javacard.framework.JCSystem;
import javacard.framework.Util;
import javacard.security.CryptoException;
import javacard.security.ECPrivateKey;
import javacard.security.ECPublicKey;
import javacard.security.KeyAgreement;
import javacard.security.KeyBuilder;
import javacard.security.KeyPair;

/**
 * One key slot: a Wei25519 key pair of the card and its key agreement, so that the private key is
 * created, used and destroyed in one place and never leaves it. The applet has two slots (the
 * active key and a pending one, see RecordStore); which is which is named by the commit byte.
 * <p>
 * Besides d the card keeps r - d (r: the prime subgroup order). For a point P = P' + T on the
 * curve (P' in the prime-order subgroup, T of order 1, 2, 4 or 8), (r - d) * P = -d * P' +
 * (r - d) * T, so x((r - d) * P) equals x(d * P) exactly when T is the identity (r = 5 mod 8).
 * Two runs of the platform's plain ECDH thus refuse mixed-order points without any curve
 * arithmetic of our own. Points of order 2, 4 and 8 never get here: UNSEAL refuses their x first
 * (CurveCheck.isLowOrderX), since d times such a point depends on d mod 8 alone.
 */
final class CardKey {

    private static final short SCALAR_LENGTH = Constants.COORDINATE_LENGTH;
    /** getS may write a leading zero byte: room for it. */
    private static final short SCRATCH_LENGTH = (short) (2 * SCALAR_LENGTH + 2);

    private final Wei25519 curve;
    private final KeyPair pair;
    private final ECPrivateKey privateKey;
    private final ECPublicKey publicKey;
    /** r - d: as secret as d, created and destroyed with it. */
    private final ECPrivateKey negatedKey;
    private final KeyAgreement agreement;
    /** RAM for r - d at generation and for the second DH result: wiped after each use. */
    private final byte[] scratch;

    /** Allocates the key objects, the key agreement and the scratch RAM (install time only). */
    CardKey(Wei25519 curve) {
        this(curve, KeyAgreement.getInstance(KeyAgreement.ALG_EC_SVDP_DH_PLAIN, false),
                JCSystem.makeTransientByteArray(SCRATCH_LENGTH, JCSystem.CLEAR_ON_DESELECT));
    }

    /**
     * A second key slot (install time only): its own key objects, but the key agreement and the
     * scratch RAM of the first, since a command uses one key at a time and each use wipes the
     * scratch.
     */
    CardKey(CardKey first) {
        this(first.curve, first.agreement, first.scratch);
    }

    private CardKey(Wei25519 curve, KeyAgreement agreement, byte[] scratch) {
        this.curve = curve;
        pair = new KeyPair(KeyPair.ALG_EC_FP, KeyBuilder.LENGTH_EC_FP_256);
        privateKey = (ECPrivateKey) pair.getPrivate();
        publicKey = (ECPublicKey) pair.getPublic();
        negatedKey = (ECPrivateKey) KeyBuilder.buildKey(KeyBuilder.TYPE_EC_FP_PRIVATE,
                KeyBuilder.LENGTH_EC_FP_256, false);
        this.agreement = agreement;
        this.scratch = scratch;
    }

    /** Generates a fresh pair on the card; the parameters are set again since clearKey may drop them. */
    void generate() {
        curve.applyTo(publicKey);
        curve.applyTo(privateKey);
        curve.applyTo(negatedKey);
        pair.genKeyPair();
        // scratch[0..34) = d, right-aligned in 32 bytes at offset 2; then r - d at offset 34
        Util.arrayFillNonAtomic(scratch, (short) 0, SCRATCH_LENGTH, (byte) 0);
        short length = privateKey.getS(scratch, (short) 0);
        short d = (short) (length - SCALAR_LENGTH);
        if (d < 0) {
            Util.arrayCopyNonAtomic(scratch, (short) 0, scratch, (short) (-d), length);
            Util.arrayFillNonAtomic(scratch, (short) 0, (short) (-d), (byte) 0);
            d = 0;
        }
        // d again as exactly 32 bytes: jcardsim (3.0.5.11) computes with its whole stored array,
        // so a shorter d generated into a key that held a longer one (after a FACTORY RESET) would
        // be used with stale trailing bytes; on a card this rewrites the same value
        privateKey.setS(scratch, d, SCALAR_LENGTH);
        short negated = (short) (SCALAR_LENGTH + 2);
        short borrow = 0;
        for (short i = (short) (SCALAR_LENGTH - 1); i >= 0; i--) {
            short t = (short) ((short) ((short) (curve.order[i] & 0xFF)
                    - (short) (scratch[(short) (d + i)] & 0xFF)) - borrow);
            scratch[(short) (negated + i)] = (byte) t;
            borrow = (short) (t < 0 ? 1 : 0);
        }
        negatedKey.setS(scratch, negated, SCALAR_LENGTH);
        Util.arrayFillNonAtomic(scratch, (short) 0, SCRATCH_LENGTH, (byte) 0);
    }

    /** Whether a key pair exists: false after a factory reset, even one that was torn. */
    boolean isPresent() {
        return privateKey.isInitialized() && negatedKey.isInitialized() && publicKey.isInitialized();
    }

    /** Writes the public key 04 || X || Y and returns its length (65). */
    short copyPublic(byte[] out, short off) {
        return publicKey.getW(out, off);
    }

    /**
     * Writes x(d * P) for a point P already known to be on the curve and returns its length
     * (32); throws CryptoException ILLEGAL_VALUE if P is outside the prime-order subgroup.
     */
    short agree(byte[] point, short off, byte[] out, short outOff) {
        agreement.init(privateKey);
        short length = agreement.generateSecret(point, off, Constants.POINT_LENGTH, out, outOff);
        agreement.init(negatedKey);
        short other = agreement.generateSecret(point, off, Constants.POINT_LENGTH, scratch, (short) 0);
        boolean same = other == length
                && Util.arrayCompare(out, outOff, scratch, (short) 0, length) == 0;
        Util.arrayFillNonAtomic(scratch, (short) 0, SCRATCH_LENGTH, (byte) 0);
        if (!same) {
            Util.arrayFillNonAtomic(out, outOff, length, (byte) 0);
            CryptoException.throwIt(CryptoException.ILLEGAL_VALUE);
        }
        return length;
    }

    /** Destroys the private key first (both scalars), then the public key; a no-op on an empty slot. */
    void clear() {
        privateKey.clearKey();
        negatedKey.clearKey();
        publicKey.clearKey();
    }
}
