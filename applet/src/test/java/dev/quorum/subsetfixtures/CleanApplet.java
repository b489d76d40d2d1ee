package dev.quorum.subsetfixtures;

import javacard.framework.APDU;
import javacard.framework.Applet;
import javacard.framework.ISO7816;
import javacard.framework.ISOException;
import javacard.framework.JCSystem;
import javacard.framework.Util;
import javacard.security.KeyBuilder;
import javacard.security.KeyPair;

/** Fixture: what the subset allows, including short arithmetic compiled to int opcodes. */
public class CleanApplet extends Applet {
    private final byte[] ram;
    private final byte[] eeprom;
    private final KeyPair pair;
    private short counter;

    private CleanApplet() {
        ram = JCSystem.makeTransientByteArray((short) 16, JCSystem.CLEAR_ON_DESELECT);
        eeprom = new byte[32];
        pair = new KeyPair(KeyPair.ALG_EC_FP, KeyBuilder.LENGTH_EC_FP_256);
    }

    public static void install(byte[] bArray, short bOffset, byte bLength) {
        new CleanApplet().register();
    }

    public void process(APDU apdu) {
        byte[] buf = apdu.getBuffer();
        short sum = 0;
        for (short i = 0; i < (short) 8; i++) {
            sum = (short) (sum + (short) (buf[(short) (ISO7816.OFFSET_CDATA + i)] & 0xFF));
        }
        counter = (short) (counter + 1);
        Util.arrayCopyNonAtomic(eeprom, (short) 0, ram, (short) 0, (short) 16);
        if (sum > (short) 1000 || pair == null) {
            ISOException.throwIt(ISO7816.SW_WRONG_DATA);
        }
    }
}
