package dev.quorum.cardfarm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import org.junit.jupiter.api.Test;

class VpcdFramesTest {
    @Test
    void writesLengthBigEndianThenPayload() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        VpcdFrames.write(out, Probe.hex("00A4040000"));
        assertEquals("000500A4040000", Probe.hex(out.toByteArray()));
    }

    @Test
    void lengthAbove255UsesTheHighByte() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        VpcdFrames.write(out, new byte[0x0102]);
        byte[] frame = out.toByteArray();
        assertEquals(0x0104, frame.length);
        assertEquals(0x01, frame[0]);
        assertEquals(0x02, frame[1]);
    }

    @Test
    void readsFramesBackToBack() throws IOException {
        ByteArrayInputStream in = new ByteArrayInputStream(Probe.hex("0001 04 0003 0A0B0C 0001 00"));
        assertArrayEquals(new byte[] {VpcdFrames.GET_ATR}, VpcdFrames.read(in));
        assertArrayEquals(Probe.hex("0A0B0C"), VpcdFrames.read(in));
        assertArrayEquals(new byte[] {VpcdFrames.POWER_OFF}, VpcdFrames.read(in));
        assertNull(VpcdFrames.read(in), "clean end of stream between frames");
    }

    @Test
    void callsBackBetweenHeaderAndPayload() throws IOException {
        ByteArrayInputStream in = new ByteArrayInputStream(Probe.hex("0003 0A0B0C"));
        int[] leftAtCallback = {-1};
        assertArrayEquals(Probe.hex("0A0B0C"), VpcdFrames.read(in, () -> leftAtCallback[0] = in.available()));
        assertEquals(3, leftAtCallback[0], "header consumed, payload not yet");
    }

    @Test
    void roundTripsTheLargestPayload() throws IOException {
        byte[] payload = new byte[VpcdFrames.MAX_PAYLOAD];
        payload[payload.length - 1] = 0x5A;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        VpcdFrames.write(out, payload);
        assertArrayEquals(payload, VpcdFrames.read(new ByteArrayInputStream(out.toByteArray())));
    }

    @Test
    void refusesAPayloadTheLengthCannotAnnounce() {
        assertThrows(IllegalArgumentException.class,
                () -> VpcdFrames.write(new ByteArrayOutputStream(), new byte[VpcdFrames.MAX_PAYLOAD + 1]));
    }

    @Test
    void endOfStreamInsideAHeaderIsAnError() {
        assertThrows(EOFException.class, () -> VpcdFrames.read(new ByteArrayInputStream(Probe.hex("00"))));
    }

    @Test
    void endOfStreamInsideAPayloadIsAnError() {
        EOFException e = assertThrows(EOFException.class,
                () -> VpcdFrames.read(new ByteArrayInputStream(Probe.hex("0004 0102"))));
        assertEquals("vpcd connection closed inside a 4-byte frame", e.getMessage());
    }
}
