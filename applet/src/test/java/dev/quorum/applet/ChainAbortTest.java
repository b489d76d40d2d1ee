package dev.quorum.applet;

import static dev.quorum.applet.SimCard.PIN;
import static dev.quorum.applet.SimCard.bytes;
import static dev.quorum.applet.SimCard.stream;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import javax.smartcardio.CommandAPDU;
import javax.smartcardio.ResponseAPDU;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A card pulled (or the session otherwise broken) between two APDUs of a multi-APDU operation:
 * a PUT RECORD chain is cut after each of its pieces, and a GET RECORD read with 61xx after each
 * of its chunks. The card keeps its previous record (or stays PERSONALISED), and the rest of a
 * cut chain is never taken as its continuation. CHANGE REFERENCE DATA and INITIALISE are single
 * APDUs (TearingTest cuts them inside).
 */
class ChainAbortTest {

    private static final byte[] OLD_PUBLIC = bytes(700, 51);
    private static final byte[] OLD_SEALED = bytes(81, 52);
    /** 0xFF bytes: a piece of it read as a header announces 0xFFFF bytes (6A84), never a record. */
    private static final byte[] NEW_PUBLIC = filled(900, 0xFF);
    private static final byte[] NEW_SEALED = filled(81, 0xEE);
    private static final int CHUNK = 200;

    /** How the session ends between two APDUs. */
    enum Break {
        /** Card pulled and re-inserted: reset, then the host SELECTs again. */
        CARD_RESET,
        /** Another host application SELECTs the applet on the same card. */
        SELECT,
        /** Another command arrives in the middle (answered 6883, not executed). */
        OTHER_COMMAND;

        void apply(SimCard card) {
            switch (this) {
                case CARD_RESET -> card.resetAndSelect();
                case SELECT -> card.expect(0x9000, card.select());
                case OTHER_COMMAND -> card.expect(0x6883, card.transmit(new CommandAPDU(0x80, 0x10, 0x00, 0x00, 256)));
            }
        }
    }

    private static byte[] filled(int n, int value) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) value);
        return b;
    }

    private static List<CommandAPDU> pieces(byte[] stream) {
        List<CommandAPDU> list = new ArrayList<>();
        for (int off = 0; off < stream.length; off += CHUNK) {
            int end = Math.min(stream.length, off + CHUNK);
            list.add(new CommandAPDU(end == stream.length ? 0x80 : 0x90, 0x14, 0x00, 0x00,
                    Arrays.copyOfRange(stream, off, end)));
        }
        return list;
    }

    @ParameterizedTest
    @EnumSource(Break.class)
    void putRecordReplacementCutAfterEachPieceKeepsTheOldRecord(Break cut) {
        List<CommandAPDU> pieces = pieces(stream(NEW_PUBLIC, NEW_SEALED));
        assertEquals(5, pieces.size(), "985 bytes in pieces of 200");
        for (int sent = 1; sent < pieces.size(); sent++) {
            SimCard card = SimCard.enrolled(OLD_PUBLIC, OLD_SEALED);
            byte[] key = card.parsedStatus().publicKey();
            for (int i = 0; i < sent; i++) {
                card.expect(0x9000, card.transmit(pieces.get(i)));
            }
            cut.apply(card);
            // the rest of the chain, as a host that did not notice would send it
            ResponseAPDU rest = card.transmit(pieces.get(sent));
            assertNotEquals(0x9000, rest.getSW(), cut + " after " + sent + " pieces: the rest was taken as a continuation");
            assertOldRecord(card, key);
            // and a complete new chain still works
            card.expect(0x9000, card.verify(PIN));
            card.expect(0x9000, card.putRecord(stream(NEW_PUBLIC, NEW_SEALED), CHUNK));
            assertArrayEquals(NEW_PUBLIC, card.expect(0x9000, card.getRecord(0)).getData());
        }
    }

    @ParameterizedTest
    @EnumSource(Break.class)
    void firstPutRecordCutAfterEachPieceStaysPersonalised(Break cut) {
        List<CommandAPDU> pieces = pieces(stream(NEW_PUBLIC, NEW_SEALED));
        for (int sent = 1; sent < pieces.size(); sent++) {
            SimCard card = SimCard.personalised();
            card.expect(0x9000, card.verify(PIN));
            for (int i = 0; i < sent; i++) {
                card.expect(0x9000, card.transmit(pieces.get(i)));
            }
            cut.apply(card);
            assertNotEquals(0x9000, card.transmit(pieces.get(sent)).getSW());
            SimCard.Status s = card.parsedStatus();
            assertEquals(1, s.state(), cut + " after " + sent + " pieces");
            assertEquals(0, s.publicLength());
            card.expect(0x6985, card.getRecord(0));
        }
    }

    @ParameterizedTest
    @EnumSource(Break.class)
    void getRecordCutAfterEachChunkChangesNothing(Break cut) {
        SimCard card = SimCard.enrolled(OLD_PUBLIC, OLD_SEALED);
        byte[] key = card.parsedStatus().publicKey();
        for (int chunks = 1; chunks <= 2; chunks++) {
            card.expect(0x9000, card.verify(PIN));
            ResponseAPDU r = card.transmit(new CommandAPDU(0x80, 0x16, 0x00, 0x00, 256));
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            got.writeBytes(r.getData());
            for (int i = 1; i < chunks; i++) {
                assertEquals(0x61, r.getSW1());
                r = card.transmit(new CommandAPDU(0x00, 0xC0, 0x00, 0x00, 256));
                got.writeBytes(r.getData());
            }
            assertEquals(0x61, r.getSW1(), "700 bytes take three chunks");
            assertArrayEquals(Arrays.copyOf(OLD_PUBLIC, got.size()), got.toByteArray());
            if (cut == Break.OTHER_COMMAND) {
                // no chain is open: any other command just drops the pending output
                card.expect(0x9000, card.status());
            } else {
                cut.apply(card);
            }
            card.expect(0x6985, card.transmit(new CommandAPDU(0x00, 0xC0, 0x00, 0x00, 256)));
            assertOldRecord(card, key);
        }
    }

    private static void assertOldRecord(SimCard card, byte[] key) {
        SimCard.Status s = card.parsedStatus();
        assertEquals(2, s.state());
        assertEquals(OLD_PUBLIC.length, s.publicLength());
        assertEquals(OLD_SEALED.length, s.sealedLength());
        assertArrayEquals(key, s.publicKey());
        assertArrayEquals(OLD_PUBLIC, card.expect(0x9000, card.getRecord(0)).getData());
        card.expect(0x9000, card.verify(PIN));
        assertArrayEquals(OLD_SEALED, card.expect(0x9000, card.getRecord(1)).getData());
    }
}
