package dev.quorum.cardfarm;

import dev.quorum.cardfarm.testapplet.ProbeApplet;
import java.util.Arrays;
import java.util.HexFormat;

/** Shared helpers for tests that drive {@link ProbeApplet}. */
final class Probe {
    /** The probe applet, installed under the quorum AID like the real applet would be. */
    static final AppletSpec SPEC = AppletSpec.of(ProbeApplet.class.getName(), AppletSpec.DEFAULT_AID);
    /** SELECT of the quorum AID. */
    static final byte[] SELECT = hex("00A4040009" + AppletSpec.DEFAULT_AID);

    private Probe() {}

    static byte[] hex(String s) {
        return HexFormat.of().parseHex(s.replace(" ", ""));
    }

    static String hex(byte[] b) {
        return HexFormat.of().withUpperCase().formatHex(b);
    }

    /** A proprietary-class APDU for the probe applet, with optional data and Le 00. */
    static byte[] command(byte ins, byte[] data) {
        byte[] apdu = new byte[5 + data.length + 1];
        apdu[0] = (byte) 0x80;
        apdu[1] = ins;
        apdu[4] = (byte) data.length;
        System.arraycopy(data, 0, apdu, 5, data.length);
        if (data.length == 0) {
            return Arrays.copyOf(apdu, 5);
        }
        return apdu;
    }

    /** The status word of a response APDU. */
    static int sw(byte[] response) {
        return ((response[response.length - 2] & 0xFF) << 8) | (response[response.length - 1] & 0xFF);
    }

    /** The data of a response APDU, without the status word. */
    static byte[] data(byte[] response) {
        return Arrays.copyOf(response, response.length - 2);
    }
}
