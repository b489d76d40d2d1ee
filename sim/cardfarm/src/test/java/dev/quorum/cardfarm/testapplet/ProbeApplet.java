package dev.quorum.cardfarm.testapplet;

import javacard.framework.APDU;
import javacard.framework.Applet;
import javacard.framework.ISO7816;
import javacard.framework.ISOException;
import javacard.framework.JCSystem;
import javacard.framework.Util;

/**
 * A small applet that makes the farm's behaviour observable: persistent storage (kept
 * while a card is out), a transient flag (cleared by a reset or power cycle), its install
 * capacity, and a static counter (one per card if cards are isolated).
 */
public class ProbeApplet extends Applet {
    /** INS: store the command data persistently. */
    public static final byte INS_PUT = 0x02;
    /** INS: return the stored data. */
    public static final byte INS_GET = 0x04;
    /** INS: set the transient flag to 1. */
    public static final byte INS_SET_FLAG = 0x06;
    /** INS: return the number of instances created by this class (2 bytes). */
    public static final byte INS_INSTANCES = 0x08;
    /** INS: return the transient flag (1 byte). */
    public static final byte INS_GET_FLAG = 0x0A;
    /** INS: return the capacity from the install parameters (2 bytes). */
    public static final byte INS_CAPACITY = 0x0C;
    /** INS: return the command data unchanged. */
    public static final byte INS_ECHO = 0x0E;
    /** Capacity when the install parameters carry none. */
    public static final short DEFAULT_CAPACITY = 128;

    private static short instances;

    private final byte[] store;
    private short stored;
    private final byte[] flag;

    private ProbeApplet(short capacity) {
        store = new byte[capacity];
        flag = JCSystem.makeTransientByteArray((short) 1, JCSystem.CLEAR_ON_RESET);
        instances++;
    }

    /** Standard install: instance AID, control info, then optional 2-byte capacity. */
    public static void install(byte[] bArray, short bOffset, byte bLength) {
        short aidOff = (short) (bOffset + 1);
        byte aidLen = bArray[bOffset];
        short infoOff = (short) (aidOff + aidLen);
        short dataOff = (short) (infoOff + 1 + bArray[infoOff]);
        byte dataLen = bArray[dataOff];
        short capacity = DEFAULT_CAPACITY;
        if (dataLen == 2) {
            capacity = Util.getShort(bArray, (short) (dataOff + 1));
        } else if (dataLen != 0) {
            ISOException.throwIt(ISO7816.SW_WRONG_LENGTH);
        }
        if (capacity < 1) {
            ISOException.throwIt(ISO7816.SW_WRONG_DATA);
        }
        new ProbeApplet(capacity).register(bArray, aidOff, aidLen);
    }

    @Override
    public void process(APDU apdu) {
        if (selectingApplet()) {
            return;
        }
        byte[] buf = apdu.getBuffer();
        switch (buf[ISO7816.OFFSET_INS]) {
            case INS_PUT: {
                short len = apdu.setIncomingAndReceive();
                if (len > store.length) {
                    ISOException.throwIt(ISO7816.SW_FILE_FULL);
                }
                Util.arrayCopy(buf, ISO7816.OFFSET_CDATA, store, (short) 0, len);
                stored = len;
                return;
            }
            case INS_GET:
                Util.arrayCopyNonAtomic(store, (short) 0, buf, (short) 0, stored);
                apdu.setOutgoingAndSend((short) 0, stored);
                return;
            case INS_SET_FLAG:
                flag[0] = 1;
                return;
            case INS_GET_FLAG:
                buf[0] = flag[0];
                apdu.setOutgoingAndSend((short) 0, (short) 1);
                return;
            case INS_INSTANCES:
                Util.setShort(buf, (short) 0, instances);
                apdu.setOutgoingAndSend((short) 0, (short) 2);
                return;
            case INS_CAPACITY:
                Util.setShort(buf, (short) 0, (short) store.length);
                apdu.setOutgoingAndSend((short) 0, (short) 2);
                return;
            case INS_ECHO: {
                short len = apdu.setIncomingAndReceive();
                Util.arrayCopyNonAtomic(buf, ISO7816.OFFSET_CDATA, buf, (short) 0, len);
                apdu.setOutgoingAndSend((short) 0, len);
                return;
            }
            default:
                ISOException.throwIt(ISO7816.SW_INS_NOT_SUPPORTED);
        }
    }
}
