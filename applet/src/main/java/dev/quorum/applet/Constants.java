package dev.quorum.applet;

import javacard.framework.ISO7816;

/**
 * Protocol numbers in one place, so that the code can be read side by side with apdu-spec/.
 */
final class Constants {

    private Constants() {
    }

    // ---- Classes (apdu-spec/README.md, "Class") ----
    static final byte CLA_ISO = (byte) 0x00;
    static final byte CLA_PROPRIETARY = (byte) 0x80;
    static final byte CLA_CHAINING_BIT = (byte) 0x10;
    /** Marks an INS that belongs to no class: answered 6D00. */
    static final byte CLA_NONE = (byte) 0xFF;

    // ---- Instructions ----
    static final byte INS_SELECT = (byte) 0xA4;
    static final byte INS_GET_STATUS = (byte) 0x10;
    static final byte INS_INITIALISE = (byte) 0x12;
    static final byte INS_PUT_RECORD = (byte) 0x14;
    static final byte INS_GET_RECORD = (byte) 0x16;
    static final byte INS_UNSEAL = (byte) 0x18;
    static final byte INS_PREPARE_KEY = (byte) 0x1C;
    static final byte INS_FACTORY_RESET = (byte) 0x1E;
    static final byte INS_VERIFY = (byte) 0x20;
    static final byte INS_CHANGE_REFERENCE_DATA = (byte) 0x24;
    static final byte INS_GET_RESPONSE = (byte) 0xC0;

    // ---- P1 / P2 ----
    static final byte P1_SELECT_BY_NAME = (byte) 0x04;
    static final byte P1_VERIFY_CHECK = (byte) 0x00;
    static final byte P1_VERIFY_RESET = (byte) 0xFF;
    static final byte P2_PIN_REFERENCE = (byte) 0x81;
    static final byte P1_RECORD_PUBLIC = (byte) 0x00;
    static final byte P1_RECORD_SEALED = (byte) 0x01;
    /** UNSEAL: X of d·P alone. */
    static final byte P1_UNSEAL_ANSWER = (byte) 0x00;
    /** UNSEAL (1.2): X of d·P followed by the sealed part after its enc. */
    static final byte P1_UNSEAL_WITH_SEALED = (byte) 0x01;
    /** PUT RECORD: keep the active key. */
    static final byte P1_PUT_KEEP_KEY = (byte) 0x00;
    /** PUT RECORD: the commit also makes the pending key (PREPARE KEY) the active one. */
    static final byte P1_PUT_PENDING_KEY = (byte) 0x01;
    static final byte P1_FACTORY_RESET = (byte) 0xAA;
    static final byte P2_FACTORY_RESET = (byte) 0x55;

    // ---- Status words: the complete list of apdu-spec/README.md ----
    static final short SW_BYTES_REMAINING = (short) 0x6100;
    static final short SW_PIN_TRIES_LEFT = (short) 0x63C0;
    static final short SW_WRONG_LENGTH = (short) 0x6700;
    static final short SW_LAST_COMMAND_EXPECTED = (short) 0x6883;
    static final short SW_CHAINING_NOT_SUPPORTED = (short) 0x6884;
    static final short SW_SECURITY_NOT_SATISFIED = (short) 0x6982;
    static final short SW_PIN_BLOCKED = (short) 0x6983;
    static final short SW_CONDITIONS_NOT_SATISFIED = (short) 0x6985;
    static final short SW_WRONG_DATA = (short) 0x6A80;
    static final short SW_NOT_ENOUGH_MEMORY = (short) 0x6A84;
    static final short SW_INCORRECT_P1P2 = (short) 0x6A86;
    static final short SW_INS_NOT_SUPPORTED = (short) 0x6D00;
    static final short SW_CLA_NOT_SUPPORTED = (short) 0x6E00;

    // ---- Life-cycle as reported by SELECT and GET STATUS ----
    static final byte STATE_BLANK = (byte) 0x00;
    static final byte STATE_PERSONALISED = (byte) 0x01;
    static final byte STATE_ENROLLED = (byte) 0x02;

    // ---- SELECT response ----
    static final byte PROTOCOL_MAJOR = (byte) 0x01;
    static final byte PROTOCOL_MINOR = (byte) 0x04;
    /**
     * bit0 blinded unseal, bit1 PUT RECORD command chaining, bit2 61xx output chaining, bit3 key
     * renewal (PREPARE KEY, PUT RECORD P1=01), bit4 status and record header in this response and
     * UNSEAL P1=01, bit5 the public digest after the record header, bit6 (1.4) PUT RECORD accepts
     * extended-length APDUs.
     */
    static final byte CAPABILITIES = (byte) 0x7F;
    /** Where the GET STATUS response starts: after version, capabilities, state and capacity. */
    static final short SELECT_STATUS = (short) 6;
    /** The record header's first range: public part bytes 4..22 (set_id, set_version, index). */
    static final short HEADER_PUBLIC_OFFSET = (short) 4;
    static final short HEADER_PUBLIC_LENGTH = (short) 19;
    /** The record header's second range: the sealed part's first 32 bytes (the HPKE enc). */
    static final short ENC_LENGTH = (short) 32;
    /** The record header: 19 public bytes and the 32-byte enc. */
    static final short HEADER_LENGTH = (short) (HEADER_PUBLIC_LENGTH + ENC_LENGTH);
    /** The public digest after the record header (1.3): SHA-256 of the public part. */
    static final short DIGEST_LENGTH = (short) 32;
    /**
     * Bytes of the public part given to the digest in one call: chunking keeps each call's input
     * short on any card (a multiple of SHA-256's 64-byte block).
     */
    static final short DIGEST_CHUNK = (short) 256;

    // ---- GET STATUS response layout ----
    static final short STATUS_STATE = (short) 0;
    static final short STATUS_FLAGS = (short) 1;
    static final short STATUS_TRIES_LEFT = (short) 2;
    static final short STATUS_RETRY_LIMIT = (short) 3;
    static final short STATUS_CAPACITY = (short) 4;
    static final short STATUS_PUBLIC_LENGTH = (short) 6;
    static final short STATUS_SEALED_LENGTH = (short) 8;
    static final short STATUS_KEY_LENGTH = (short) 10;
    static final short STATUS_KEY = (short) 11;
    static final byte FLAG_PIN_BLOCKED = (byte) 0x01;
    static final byte FLAG_PIN_VALIDATED = (byte) 0x02;
    static final byte FLAG_KEY_PENDING = (byte) 0x04;

    // ---- PIN ----
    static final short PIN_BLOCK_LENGTH = (short) 12;
    static final short PIN_MIN_DIGITS = (short) 6;
    static final byte PIN_PAD = (byte) 0xFF;
    static final byte PIN_DIGIT_FIRST = (byte) 0x30;
    static final byte PIN_DIGIT_LAST = (byte) 0x39;
    static final byte RETRY_LIMIT_MIN = (byte) 3;
    static final byte RETRY_LIMIT_MAX = (byte) 10;
    static final short INITIALISE_DATA_LENGTH = (short) 13;
    static final short CHANGE_DATA_LENGTH = (short) 24;
    /**
     * Added to a data length when wiping command data from ISO7816.OFFSET_CDATA: an APDU in extended
     * form has its data 2 bytes further on (ISO7816.OFFSET_EXT_CDATA), and is refused (6700) after
     * the runtime received its first bytes into the buffer.
     */
    static final short EXT_CDATA_SHIFT = (short) (ISO7816.OFFSET_EXT_CDATA - ISO7816.OFFSET_CDATA);

    // ---- Points and key agreement ----
    static final short COORDINATE_LENGTH = (short) 32;
    static final short POINT_LENGTH = (short) 65;
    static final byte POINT_UNCOMPRESSED = (byte) 0x04;

    // ---- Record ----
    static final short RECORD_HEADER_LENGTH = (short) 4;
    static final short CAPACITY_DEFAULT = (short) 8192;
    static final short CAPACITY_MIN = (short) 512;

    // ---- Output ----
    /**
     * Largest response that is not a record: SELECT of an ENROLLED card up to its record header
     * (6 + 76 + 51 bytes; the public digest after it is sent from EEPROM as a second part).
     */
    static final short RESPONSE_BUFFER_LENGTH = (short) 133;
    /** Ne of a short APDU with Le = 00; also used when Le is absent. */
    static final short MAX_SHORT_NE = (short) 256;
}
