package dev.quorum.subsetfixtures;

import javacard.framework.JCSystem;
import javacard.security.KeyAgreement;

/** Fixture: allocating JavaCard factories called outside the constructor. */
public class FactoryInProcess {
    Object agreement() {
        return KeyAgreement.getInstance(KeyAgreement.ALG_EC_SVDP_DH_PLAIN, false);
    }

    byte[] ram() {
        return JCSystem.makeTransientByteArray((short) 8, JCSystem.CLEAR_ON_DESELECT);
    }
}
