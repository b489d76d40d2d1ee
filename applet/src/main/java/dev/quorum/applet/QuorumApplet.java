package dev.quorum.applet;

import javacard.framework.APDU;
import javacard.framework.Applet;
import javacard.framework.ISO7816;
import javacard.framework.ISOException;
import javacard.framework.JCSystem;
import javacard.framework.Util;
import javacard.security.CryptoException;
import javacardx.apdu.ExtendedLength;

/**
 * The quorum custodian applet: an on-card Wei25519 key pair (and room for a pending one, PREPARE
 * KEY), a PIN with a retry counter, and one sealed record (protocol version 1.4, apdu-spec/).
 * process() does the work shared by every command once — class and chaining checks, receiving,
 * output chaining, wiping, mapping exceptions to documented status words — and hands each
 * instruction to one processXxx method.
 * <p>
 * ExtendedLength (1.4): PUT RECORD takes its pieces in extended-length APDUs too, received chunk by
 * chunk into the staging slot (the APDU buffer need not hold the data field); every other command
 * answers an APDU in extended form 6700 after the class checks, as the runtime did before 1.4.
 */
public final class QuorumApplet extends Applet implements ExtendedLength {

    /** The two key slots; the commit byte (RecordStore) names the active one and a pending one. */
    private final CardKey key0;
    private final CardKey key1;
    private final CurveCheck curveCheck;
    private final Pin pin;
    private final RecordStore store;
    private final Session session;

    /** Allocates everything the applet will ever use, so that process() never allocates. */
    private QuorumApplet(short capacity) {
        Wei25519 curve = new Wei25519();
        key0 = new CardKey(curve);
        key1 = new CardKey(key0);
        curveCheck = new CurveCheck(curve);
        pin = new Pin();
        store = new RecordStore(capacity);
        session = new Session();
    }

    /**
     * Installs the applet. bArray holds the standard install parameters: Li, instance AID,
     * Lc, control info, La, applet data; applet data is empty (capacity 8192) or a 2-byte
     * big-endian record capacity, 512..32767. An empty bArray (bLength 0) means defaults.
     */
    public static void install(byte[] bArray, short bOffset, byte bLength) {
        short capacity = Constants.CAPACITY_DEFAULT;
        short aidLength = 0;
        if (bLength != 0) {
            short end = (short) (bOffset + (short) (bLength & 0xFF));
            short at = bOffset;
            aidLength = (short) (bArray[at] & 0xFF);
            at = (short) (at + 1 + aidLength);
            if (at >= end) {
                ISOException.throwIt(Constants.SW_WRONG_DATA);
            }
            at = (short) (at + 1 + (short) (bArray[at] & 0xFF));
            if (at >= end) {
                ISOException.throwIt(Constants.SW_WRONG_DATA);
            }
            short dataLength = (short) (bArray[at] & 0xFF);
            at++;
            if ((short) (at + dataLength) > end) {
                ISOException.throwIt(Constants.SW_WRONG_DATA);
            }
            if (dataLength == 2) {
                capacity = Util.getShort(bArray, at);
                if (capacity < Constants.CAPACITY_MIN) {
                    ISOException.throwIt(Constants.SW_WRONG_DATA);
                }
            } else if (dataLength != 0) {
                ISOException.throwIt(Constants.SW_WRONG_DATA);
            }
        }
        QuorumApplet applet = new QuorumApplet(capacity);
        if (aidLength == 0) {
            applet.register();
        } else {
            applet.register(bArray, (short) (bOffset + 1), (byte) aidLength);
        }
    }

    /** Ends the session: PIN no longer validated, chain and pending output dropped. */
    public void deselect() {
        pin.resetValidated();
        session.reset();
    }

    /** Dispatches one APDU; see the class comment for what happens here once for all commands. */
    public void process(APDU apdu) {
        byte[] buf = apdu.getBuffer();
        byte ins = buf[ISO7816.OFFSET_INS];
        try {
            if (selectingApplet()) {
                processSelect(apdu);
                return;
            }
            byte cla = buf[ISO7816.OFFSET_CLA];
            checkClassAndChaining(cla, ins);
            // the first bytes of the data field, as many as the runtime puts in the buffer at once
            short received = apdu.setIncomingAndReceive();
            if (ins == Constants.INS_PUT_RECORD) {
                processPutRecord(apdu, cla, received);
                return;
            }
            if (isExtended(apdu)) {
                ISOException.throwIt(Constants.SW_WRONG_LENGTH);
            }
            short lc = receiveRest(apdu, received);
            switch (ins) {
                case Constants.INS_SELECT:
                    processForwardedSelect(buf);
                    break;
                case Constants.INS_GET_STATUS:
                    processGetStatus(apdu, lc);
                    break;
                case Constants.INS_INITIALISE:
                    processInitialise(apdu, lc);
                    break;
                case Constants.INS_VERIFY:
                    processVerify(buf, lc);
                    break;
                case Constants.INS_CHANGE_REFERENCE_DATA:
                    processChangeReferenceData(buf, lc);
                    break;
                case Constants.INS_GET_RECORD:
                    processGetRecord(apdu, lc);
                    break;
                case Constants.INS_UNSEAL:
                    processUnseal(apdu, lc);
                    break;
                case Constants.INS_PREPARE_KEY:
                    processPrepareKey(apdu, lc);
                    break;
                case Constants.INS_FACTORY_RESET:
                    processFactoryReset(buf, lc);
                    break;
                case Constants.INS_GET_RESPONSE:
                    processGetResponse(apdu, lc);
                    break;
                default:
                    ISOException.throwIt(Constants.SW_INS_NOT_SUPPORTED);
            }
        } catch (ISOException e) {
            short sw = e.getReason();
            if ((short) (sw & (short) 0xFF00) != Constants.SW_BYTES_REMAINING) {
                failed(buf, ins);
            }
            throw e;
        } catch (CryptoException e) {
            failed(buf, ins);
            ISOException.throwIt(Constants.SW_CONDITIONS_NOT_SATISFIED);
        } catch (RuntimeException e) {
            failed(buf, ins);
            ISOException.throwIt(Constants.SW_CONDITIONS_NOT_SATISFIED);
        } finally {
            if (ins == Constants.INS_VERIFY || ins == Constants.INS_CHANGE_REFERENCE_DATA) {
                wipeCommandData(buf, Constants.CHANGE_DATA_LENGTH);
            }
        }
    }

    // ---------------------------------------------------------------- commands

    /**
     * SELECT of this applet: a new session; returns version, capabilities, state, capacity, then
     * the GET STATUS response (PIN not validated: just cleared) and, when ENROLLED, the record
     * header and the public digest (sent from EEPROM as a second part), so that a host needs no
     * other command before the PIN.
     */
    private void processSelect(APDU apdu) {
        pin.resetValidated();
        session.reset();
        byte[] out = session.response;
        byte state = lifeCycle();
        out[0] = Constants.PROTOCOL_MAJOR;
        out[1] = Constants.PROTOCOL_MINOR;
        out[2] = Constants.CAPABILITIES;
        out[3] = state;
        Util.setShort(out, (short) 4, store.capacity());
        short length = (short) (Constants.SELECT_STATUS + writeStatus(out, Constants.SELECT_STATUS));
        if (state != Constants.STATE_ENROLLED) {
            respond(apdu, length);
            return;
        }
        length = writeRecordHeader(out, length);
        session.startOutput(Session.SOURCE_RESPONSE, (short) 0, length);
        session.appendOutput(Session.SOURCE_DIGESTS, store.digestOffset(), Constants.DIGEST_LENGTH);
        sendPending(apdu);
    }

    /**
     * The record header at offset: public part bytes 4..22, then the sealed part's first 32
     * bytes (its enc), each zero-padded if the part is shorter. Returns the offset after it.
     */
    private short writeRecordHeader(byte[] out, short offset) {
        Util.arrayFillNonAtomic(out, offset, Constants.HEADER_LENGTH, (byte) 0);
        byte[] slot = store.slot(store.activeSlot());
        short publicLength = store.publicLength();
        short count = (short) (publicLength - Constants.HEADER_PUBLIC_OFFSET);
        if (count > Constants.HEADER_PUBLIC_LENGTH) {
            count = Constants.HEADER_PUBLIC_LENGTH;
        }
        if (count > 0) {
            Util.arrayCopyNonAtomic(slot, Constants.HEADER_PUBLIC_OFFSET, out, offset, count);
        }
        offset = (short) (offset + Constants.HEADER_PUBLIC_LENGTH);
        count = store.sealedLength();
        if (count > Constants.ENC_LENGTH) {
            count = Constants.ENC_LENGTH;
        }
        Util.arrayCopyNonAtomic(slot, publicLength, out, offset, count);
        return (short) (offset + Constants.ENC_LENGTH);
    }

    /** A SELECT that reached the applet without selecting it (no applet has that AID). */
    private void processForwardedSelect(byte[] buf) {
        checkP1P2(buf, Constants.P1_SELECT_BY_NAME, (byte) 0x00);
        ISOException.throwIt(Constants.SW_WRONG_DATA);
    }

    /** GET STATUS: everything a host needs to decide what to do next, no PIN. */
    private void processGetStatus(APDU apdu, short lc) {
        byte[] buf = apdu.getBuffer();
        checkP1P2(buf, (byte) 0x00, (byte) 0x00);
        requireLength(lc, (short) 0);
        respond(apdu, writeStatus(session.response, (short) 0));
    }

    /**
     * The GET STATUS response at base (GET STATUS answers it, SELECT after its 6 bytes); returns
     * its length, 11 in BLANK, 76 otherwise.
     */
    private short writeStatus(byte[] out, short base) {
        byte state = lifeCycle();
        Util.arrayFillNonAtomic(out, base, Constants.STATUS_KEY, (byte) 0);
        out[(short) (base + Constants.STATUS_STATE)] = state;
        Util.setShort(out, (short) (base + Constants.STATUS_CAPACITY), store.capacity());
        short length = Constants.STATUS_KEY;
        if (state != Constants.STATE_BLANK) {
            byte flags = 0;
            if (pin.isBlocked()) {
                flags |= Constants.FLAG_PIN_BLOCKED;
            }
            if (pin.isValidated()) {
                flags |= Constants.FLAG_PIN_VALIDATED;
            }
            if (store.hasPendingKey()) {
                flags |= Constants.FLAG_KEY_PENDING;
            }
            out[(short) (base + Constants.STATUS_FLAGS)] = flags;
            out[(short) (base + Constants.STATUS_TRIES_LEFT)] = pin.triesLeft();
            out[(short) (base + Constants.STATUS_RETRY_LIMIT)] = pin.limit();
            if (state == Constants.STATE_ENROLLED) {
                Util.setShort(out, (short) (base + Constants.STATUS_PUBLIC_LENGTH), store.publicLength());
                Util.setShort(out, (short) (base + Constants.STATUS_SEALED_LENGTH), store.sealedLength());
            }
            short keyLength = activeKey().copyPublic(out, (short) (base + Constants.STATUS_KEY));
            out[(short) (base + Constants.STATUS_KEY_LENGTH)] = (byte) keyLength;
            length = (short) (Constants.STATUS_KEY + keyLength);
        }
        return length;
    }

    /** INITIALISE: key pair generated on the card, PIN and retry limit set; BLANK only. */
    private void processInitialise(APDU apdu, short lc) {
        byte[] buf = apdu.getBuffer();
        checkP1P2(buf, (byte) 0x00, (byte) 0x00);
        requireState(lifeCycle() == Constants.STATE_BLANK);
        requireLength(lc, Constants.INITIALISE_DATA_LENGTH);
        byte limit = buf[ISO7816.OFFSET_CDATA];
        short pinOffset = (short) (ISO7816.OFFSET_CDATA + 1);
        if (limit < Constants.RETRY_LIMIT_MIN || limit > Constants.RETRY_LIMIT_MAX
                || !Pin.isWellFormed(buf, pinOffset)) {
            ISOException.throwIt(Constants.SW_WRONG_DATA);
        }
        // Nothing written before the commit byte is visible, so a torn INITIALISE leaves a BLANK
        // card that INITIALISE accepts again. The byte is BLANK already unless the card reports
        // BLANK for want of a key; then it is made so first, or a torn INITIALISE could surface
        // the slots, key and PIN it is halfway through writing under the old byte.
        if (store.isPersonalised()) {
            store.commitBlank();
        }
        // BLANK names key slot 0 active and nothing pending; slot 1 is erased in case a torn
        // FACTORY RESET left a key in it
        store.wipe();
        key0.generate();
        key1.clear();
        pin.set(buf, pinOffset, limit);
        wipeCommandData(buf, Constants.INITIALISE_DATA_LENGTH);
        store.commitPersonalised();
        respond(apdu, key0.copyPublic(session.response, (short) 0));
    }

    /** VERIFY: checks the PIN (P1=00 with data), reports it (no data), or forgets it (P1=FF). */
    private void processVerify(byte[] buf, short lc) {
        byte p1 = buf[ISO7816.OFFSET_P1];
        if (buf[ISO7816.OFFSET_P2] != Constants.P2_PIN_REFERENCE
                || (p1 != Constants.P1_VERIFY_CHECK && p1 != Constants.P1_VERIFY_RESET)) {
            ISOException.throwIt(Constants.SW_INCORRECT_P1P2);
        }
        requireState(lifeCycle() != Constants.STATE_BLANK);
        if (p1 == Constants.P1_VERIFY_RESET) {
            requireLength(lc, (short) 0);
            pin.resetValidated();
            return;
        }
        if (pin.isBlocked()) {
            ISOException.throwIt(Constants.SW_PIN_BLOCKED);
        }
        if (lc == 0) {
            if (!pin.isValidated()) {
                throwTriesLeft();
            }
            return;
        }
        requireLength(lc, Constants.PIN_BLOCK_LENGTH);
        if (!Pin.isWellFormed(buf, ISO7816.OFFSET_CDATA)) {
            ISOException.throwIt(Constants.SW_WRONG_DATA);
        }
        if (!pin.check(buf, ISO7816.OFFSET_CDATA)) {
            throwTriesLeft();
        }
    }

    /** CHANGE REFERENCE DATA: old block then new block; the old one counts as a VERIFY. */
    private void processChangeReferenceData(byte[] buf, short lc) {
        checkP1P2(buf, (byte) 0x00, Constants.P2_PIN_REFERENCE);
        requireState(lifeCycle() != Constants.STATE_BLANK);
        if (pin.isBlocked()) {
            ISOException.throwIt(Constants.SW_PIN_BLOCKED);
        }
        requireLength(lc, Constants.CHANGE_DATA_LENGTH);
        short newOffset = (short) (ISO7816.OFFSET_CDATA + Constants.PIN_BLOCK_LENGTH);
        if (!Pin.isWellFormed(buf, ISO7816.OFFSET_CDATA) || !Pin.isWellFormed(buf, newOffset)) {
            ISOException.throwIt(Constants.SW_WRONG_DATA);
        }
        if (!pin.check(buf, ISO7816.OFFSET_CDATA)) {
            throwTriesLeft();
        }
        pin.change(buf, newOffset);
    }

    /**
     * PUT RECORD: one APDU of the stream public length(2) || sealed length(2) || public || sealed.
     * Bytes go to the staging slot; the last APDU writes the slot's lengths and public digest
     * (SHA-256 of the public part as staged), then commits with one byte write, which with P1=01
     * also makes the pending key the active one; the old key is then destroyed. Every APDU of a chain
     * carries the P1 of its first one.
     * <p>
     * The APDU is short or (1.4) extended, with up to 32767 bytes of data; received holds how many
     * of them setIncomingAndReceive put in the buffer. The rest is received chunk by chunk, each
     * chunk staged as it arrives: on a real card the buffer of an extended APDU may be a few hundred
     * bytes. The header is gathered first (it may span chunks); the length check uses Lc, before
     * any byte of this APDU is staged.
     */
    private void processPutRecord(APDU apdu, byte cla, short received) {
        byte[] buf = apdu.getBuffer();
        byte p1 = buf[ISO7816.OFFSET_P1];
        if ((p1 != Constants.P1_PUT_KEEP_KEY && p1 != Constants.P1_PUT_PENDING_KEY)
                || buf[ISO7816.OFFSET_P2] != 0
                || (session.chainActive() && p1 != session.chainP1())) {
            ISOException.throwIt(Constants.SW_INCORRECT_P1P2);
        }
        boolean renewKey = p1 == Constants.P1_PUT_PENDING_KEY;
        requireState(lifeCycle() != Constants.STATE_BLANK);
        requireState(!renewKey || store.hasPendingKey());
        requirePin();
        short dataOffset = apdu.getOffsetCdata();
        short lc = apdu.getIncomingLength();
        // offset and inBuffer: where this APDU's next unstaged bytes are in the buffer, how many
        short offset = dataOffset;
        short inBuffer = received;
        short length = lc;
        if (!session.chainActive()) {
            if (length < Constants.RECORD_HEADER_LENGTH) {
                ISOException.throwIt(Constants.SW_WRONG_DATA);
            }
            while (inBuffer < Constants.RECORD_HEADER_LENGTH) {
                inBuffer = (short) (inBuffer + receiveChunk(apdu, (short) (dataOffset + inBuffer)));
            }
            short publicLength = Util.getShort(buf, offset);
            short sealedLength = Util.getShort(buf, (short) (offset + 2));
            if (publicLength == 0 || sealedLength == 0) {
                ISOException.throwIt(Constants.SW_WRONG_DATA);
            }
            short capacity = store.capacity();
            // lengths of 0x8000 and more are negative shorts: all larger than any capacity
            if (publicLength < 0 || sealedLength < 0 || publicLength > capacity
                    || sealedLength > (short) (capacity - publicLength)) {
                ISOException.throwIt(Constants.SW_NOT_ENOUGH_MEMORY);
            }
            store.reserve((short) (publicLength + sealedLength));
            session.startChain(publicLength, sealedLength, p1);
            offset = (short) (offset + Constants.RECORD_HEADER_LENGTH);
            inBuffer = (short) (inBuffer - Constants.RECORD_HEADER_LENGTH);
            length = (short) (length - Constants.RECORD_HEADER_LENGTH);
        }
        short total = (short) (session.chainPublic() + session.chainSealed());
        short sofar = session.chainReceived();
        if (length > (short) (total - sofar)) {
            ISOException.throwIt(Constants.SW_WRONG_LENGTH);
        }
        // stage what is in the buffer, then each further chunk, received at the data offset
        short left = length;
        while (true) {
            if (inBuffer > 0) {
                store.stage(sofar, buf, offset, inBuffer);
                sofar = (short) (sofar + inBuffer);
                left = (short) (left - inBuffer);
            }
            if (left <= 0) {
                break;
            }
            offset = dataOffset;
            inBuffer = receiveChunk(apdu, dataOffset);
        }
        if ((byte) (cla & Constants.CLA_CHAINING_BIT) != 0) {
            session.setChainReceived(sofar);
            return;
        }
        if (sofar != total) {
            ISOException.throwIt(Constants.SW_WRONG_LENGTH);
        }
        CardKey oldKey = activeKey();
        // the public digest is computed into the APDU buffer: its data is staged already
        store.commitStaged(session.chainPublic(), session.chainSealed(), renewKey, buf, (short) 0);
        session.abortChain();
        if (renewKey) {
            // after the commit: the old key is the spare slot, which nothing reads until the next
            // PREPARE KEY regenerates it; its old sealed parts can never be opened again
            oldKey.clear();
        }
    }

    /** GET RECORD: the public part (no PIN) or the sealed part (PIN), with output chaining. */
    private void processGetRecord(APDU apdu, short lc) {
        byte[] buf = apdu.getBuffer();
        byte p1 = buf[ISO7816.OFFSET_P1];
        if ((p1 != Constants.P1_RECORD_PUBLIC && p1 != Constants.P1_RECORD_SEALED)
                || buf[ISO7816.OFFSET_P2] != 0) {
            ISOException.throwIt(Constants.SW_INCORRECT_P1P2);
        }
        requireState(lifeCycle() == Constants.STATE_ENROLLED);
        if (p1 == Constants.P1_RECORD_SEALED) {
            requirePin();
        }
        requireLength(lc, (short) 0);
        short publicLength = store.publicLength();
        if (p1 == Constants.P1_RECORD_PUBLIC) {
            session.startOutput(store.activeSlot(), (short) 0, publicLength);
        } else {
            session.startOutput(store.activeSlot(), publicLength, store.sealedLength());
        }
        sendPending(apdu);
    }

    /**
     * UNSEAL: x(d * P) for a point P on Wei25519; the host blinds P, so the result is blinded.
     * The point's checks, all 6A80, in the documented order: X of a low-order point (constant
     * time, before any arithmetic on the point), then encoding and curve equation, then the
     * prime-order subgroup (two ECDHs in CardKey.agree). P1=01 (1.2) appends the sealed part
     * after its enc, read only once the key agreement ran, so that one command opens the share.
     */
    private void processUnseal(APDU apdu, short lc) {
        byte[] buf = apdu.getBuffer();
        byte p1 = buf[ISO7816.OFFSET_P1];
        if ((p1 != Constants.P1_UNSEAL_ANSWER && p1 != Constants.P1_UNSEAL_WITH_SEALED)
                || buf[ISO7816.OFFSET_P2] != 0) {
            ISOException.throwIt(Constants.SW_INCORRECT_P1P2);
        }
        requireState(lifeCycle() == Constants.STATE_ENROLLED);
        requirePin();
        requireLength(lc, Constants.POINT_LENGTH);
        if (curveCheck.isLowOrderX(buf, (short) (ISO7816.OFFSET_CDATA + 1))) {
            ISOException.throwIt(Constants.SW_WRONG_DATA);
        }
        if (!curveCheck.isOnCurve(buf, ISO7816.OFFSET_CDATA)) {
            ISOException.throwIt(Constants.SW_WRONG_DATA);
        }
        short length = 0;
        try {
            length = activeKey().agree(buf, ISO7816.OFFSET_CDATA, session.response, (short) 0);
        } catch (CryptoException e) {
            ISOException.throwIt(Constants.SW_WRONG_DATA);
        } catch (RuntimeException e) {
            // some platforms throw their own exception for a point they cannot use
            ISOException.throwIt(Constants.SW_WRONG_DATA);
        }
        session.startOutput(Session.SOURCE_RESPONSE, (short) 0, length);
        short tail = (short) (store.sealedLength() - Constants.ENC_LENGTH);
        if (p1 == Constants.P1_UNSEAL_WITH_SEALED && tail > 0) {
            session.appendOutput(store.activeSlot(),
                    (short) (store.publicLength() + Constants.ENC_LENGTH), tail);
        }
        sendPending(apdu);
    }

    /**
     * PREPARE KEY: a fresh key pair in the spare key slot, made pending; the active key, the record
     * and the PIN do not change. A pending key is never regenerated in place: its flag is dropped
     * first (one byte), so that a torn generation is never pending, and set again once the pair is
     * complete (one byte, the commit point).
     */
    private void processPrepareKey(APDU apdu, short lc) {
        byte[] buf = apdu.getBuffer();
        checkP1P2(buf, (byte) 0x00, (byte) 0x00);
        requireState(lifeCycle() == Constants.STATE_ENROLLED);
        requirePin();
        requireLength(lc, (short) 0);
        if (store.hasPendingKey()) {
            store.dropPendingKey();
        }
        CardKey pending = spareKey();
        pending.generate();
        store.commitPendingKey();
        respond(apdu, pending.copyPublic(session.response, (short) 0));
    }

    /**
     * FACTORY RESET: BLANK first (the commit point: one byte), then both key slots, the PIN and
     * the record are erased; magic P1/P2, no PIN. A card pulled after the first write is BLANK and
     * no command reaches what is left; INITIALISE or another FACTORY RESET erases it.
     */
    private void processFactoryReset(byte[] buf, short lc) {
        checkP1P2(buf, Constants.P1_FACTORY_RESET, Constants.P2_FACTORY_RESET);
        requireLength(lc, (short) 0);
        pin.resetValidated();
        store.commitBlank();
        key0.clear();
        key1.clear();
        pin.clear();
        store.wipe();
    }

    /** GET RESPONSE: the next chunk of pending output. */
    private void processGetResponse(APDU apdu, short lc) {
        checkP1P2(apdu.getBuffer(), (byte) 0x00, (byte) 0x00);
        requireState(session.outputPending());
        requireLength(lc, (short) 0);
        sendPending(apdu);
    }

    // ---------------------------------------------------------------- shared work

    /**
     * The checks every command shares, in the documented order: CLA (6E00), chain in progress
     * (6883), chaining bit (6884), INS (6D00). Also drops pending output unless this is
     * GET RESPONSE. Any failure here aborts a chain (see process()).
     */
    private void checkClassAndChaining(byte cla, byte ins) {
        if (cla != Constants.CLA_ISO || ins != Constants.INS_GET_RESPONSE) {
            session.discardOutput();
        }
        byte base = (byte) (cla & (byte) ~Constants.CLA_CHAINING_BIT);
        byte insClass = classOf(ins);
        boolean classOk = (base == Constants.CLA_ISO || base == Constants.CLA_PROPRIETARY)
                && (insClass == Constants.CLA_NONE || insClass == base);
        if (!classOk) {
            ISOException.throwIt(Constants.SW_CLA_NOT_SUPPORTED);
        }
        if (session.chainActive() && ins != Constants.INS_PUT_RECORD) {
            ISOException.throwIt(Constants.SW_LAST_COMMAND_EXPECTED);
        }
        if ((byte) (cla & Constants.CLA_CHAINING_BIT) != 0 && ins != Constants.INS_PUT_RECORD) {
            ISOException.throwIt(Constants.SW_CHAINING_NOT_SUPPORTED);
        }
        if (insClass == Constants.CLA_NONE) {
            ISOException.throwIt(Constants.SW_INS_NOT_SUPPORTED);
        }
    }

    /** The class an instruction belongs to (CLA_ISO, CLA_PROPRIETARY) or CLA_NONE. */
    private static byte classOf(byte ins) {
        switch (ins) {
            case Constants.INS_SELECT:
            case Constants.INS_VERIFY:
            case Constants.INS_CHANGE_REFERENCE_DATA:
            case Constants.INS_GET_RESPONSE:
                return Constants.CLA_ISO;
            case Constants.INS_GET_STATUS:
            case Constants.INS_INITIALISE:
            case Constants.INS_PUT_RECORD:
            case Constants.INS_GET_RECORD:
            case Constants.INS_UNSEAL:
            case Constants.INS_PREPARE_KEY:
            case Constants.INS_FACTORY_RESET:
                return Constants.CLA_PROPRIETARY;
            default:
                return Constants.CLA_NONE;
        }
    }

    /**
     * Whether the APDU is in extended form (Lc or Le of 3 bytes; setIncomingAndReceive already
     * called): its data, if any, starts at ISO7816.OFFSET_EXT_CDATA. jcardsim reports that offset
     * for every extended case, 2E (extended Le, no data) included.
     */
    private static boolean isExtended(APDU apdu) {
        return apdu.getOffsetCdata() == ISO7816.OFFSET_EXT_CDATA;
    }

    /**
     * Receives the rest of a short APDU's data field (at most 255 bytes: the buffer holds it) after
     * the received bytes setIncomingAndReceive gave, and returns Lc.
     */
    private static short receiveRest(APDU apdu, short received) {
        short lc = apdu.getIncomingLength();
        while (received < lc) {
            received = (short) (received
                    + receiveChunk(apdu, (short) (ISO7816.OFFSET_CDATA + received)));
        }
        return lc;
    }

    /**
     * The next chunk of the data field, received at offset; at least one byte (a runtime that has
     * none left while the caller expects more breaks the loop with 6700 rather than spin).
     */
    private static short receiveChunk(APDU apdu, short offset) {
        short count = apdu.receiveBytes(offset);
        if (count <= 0) {
            ISOException.throwIt(Constants.SW_WRONG_LENGTH);
        }
        return count;
    }

    /** Queues length bytes of session.response and sends the first chunk. */
    private void respond(APDU apdu, short length) {
        session.startOutput(Session.SOURCE_RESPONSE, (short) 0, length);
        sendPending(apdu);
    }

    /**
     * Sends min(Ne, pending) bytes (Ne = 256 for Le = 00 or no Le) and, if bytes remain,
     * 61xx with xx = remaining, or 00 for 256 and more.
     */
    private void sendPending(APDU apdu) {
        short ne = apdu.setOutgoing();
        if (ne <= 0 || ne > Constants.MAX_SHORT_NE) {
            ne = Constants.MAX_SHORT_NE;
        }
        short remaining = session.outputRemaining();
        short count = remaining < ne ? remaining : ne;
        byte[] buf = apdu.getBuffer();
        // one or two parts (Session): each copy ends at the chunk or at its part's end
        for (short done = 0; done < count;) {
            short part = session.partRemaining();
            if (part > (short) (count - done)) {
                part = (short) (count - done);
            }
            byte source = session.outputSource();
            byte[] from = source == Session.SOURCE_RESPONSE ? session.response
                    : source == Session.SOURCE_DIGESTS ? store.digests() : store.slot(source);
            Util.arrayCopyNonAtomic(from, session.outputOffset(), buf, done, part);
            session.advanceOutput(part);
            done = (short) (done + part);
        }
        remaining = (short) (remaining - count);
        apdu.setOutgoingLength(count);
        apdu.sendBytes((short) 0, count);
        if (remaining != 0) {
            ISOException.throwIt((short) (Constants.SW_BYTES_REMAINING | (remaining > 255 ? 0 : remaining)));
        }
    }

    /** The key slot the commit byte names active: GET STATUS shows it, UNSEAL uses it. */
    private CardKey activeKey() {
        return store.activeKey() == 0 ? key0 : key1;
    }

    /** The other key slot: the pending key, if the commit byte says there is one. */
    private CardKey spareKey() {
        return store.activeKey() == 0 ? key1 : key0;
    }

    /** The life-cycle state as reported: BLANK also when a factory reset was torn after the key. */
    private byte lifeCycle() {
        if (!store.isPersonalised() || !activeKey().isPresent()) {
            return Constants.STATE_BLANK;
        }
        return store.hasRecord() ? Constants.STATE_ENROLLED : Constants.STATE_PERSONALISED;
    }

    /** After any error status: no chain, no pending output, no PIN left in the buffer. */
    private void failed(byte[] buf, byte ins) {
        if (JCSystem.getTransactionDepth() != 0) {
            JCSystem.abortTransaction();
        }
        session.reset();
        if (ins == Constants.INS_INITIALISE) {
            wipeCommandData(buf, Constants.INITIALISE_DATA_LENGTH);
        }
    }

    /**
     * Overwrites command data that may hold a PIN block (never called after output was sent), at
     * ISO7816.OFFSET_CDATA or, for an APDU in extended form (refused), ISO7816.OFFSET_EXT_CDATA.
     */
    private static void wipeCommandData(byte[] buf, short length) {
        Util.arrayFillNonAtomic(buf, ISO7816.OFFSET_CDATA, (short) (length + Constants.EXT_CDATA_SHIFT), (byte) 0);
    }

    /** 6A86 unless P1 and P2 are as given. */
    private static void checkP1P2(byte[] buf, byte p1, byte p2) {
        if (buf[ISO7816.OFFSET_P1] != p1 || buf[ISO7816.OFFSET_P2] != p2) {
            ISOException.throwIt(Constants.SW_INCORRECT_P1P2);
        }
    }

    /** 6985 unless the life-cycle (or pending-output) condition holds. */
    private static void requireState(boolean condition) {
        if (!condition) {
            ISOException.throwIt(Constants.SW_CONDITIONS_NOT_SATISFIED);
        }
    }

    /** 6983 if the PIN is blocked, 6982 if it is not validated in this session. */
    private void requirePin() {
        if (pin.isBlocked()) {
            ISOException.throwIt(Constants.SW_PIN_BLOCKED);
        }
        if (!pin.isValidated()) {
            ISOException.throwIt(Constants.SW_SECURITY_NOT_SATISFIED);
        }
    }

    /** 6700 unless Lc is exactly as specified. */
    private static void requireLength(short lc, short expected) {
        if (lc != expected) {
            ISOException.throwIt(Constants.SW_WRONG_LENGTH);
        }
    }

    /** 63Cx with x = tries left (63C0: now blocked). */
    private void throwTriesLeft() {
        ISOException.throwIt((short) (Constants.SW_PIN_TRIES_LEFT | pin.triesLeft()));
    }
}
