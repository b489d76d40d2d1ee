package dev.quorum.cardfarm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The line protocol against a real farm whose readers point at a port nobody listens on. */
class ControlProtocolTest {
    private Farm farm;
    private ControlProtocol protocol;

    @BeforeEach
    void farm() throws IOException {
        int deadPort;
        try (ServerSocket s = new ServerSocket(0)) {
            deadPort = s.getLocalPort();
        }
        List<VirtualReader> readers = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            readers.add(new VirtualReader(i, "Test " + i + " 00",
                    new InetSocketAddress(InetAddress.getLoopbackAddress(), deadPort)));
        }
        farm = new Farm(readers, Probe.SPEC, getClass().getClassLoader());
        protocol = new ControlProtocol(farm);
    }

    @AfterEach
    void close() {
        farm.close();
    }

    private List<String> ask(String line) {
        return protocol.handle(line).lines();
    }

    private String one(String line) {
        List<String> lines = ask(line);
        assertEquals(1, lines.size(), "one reply line for '" + line + "': " + lines);
        return lines.get(0);
    }

    @Test
    void pingNamesTheFarmItsReadersAndApplet() {
        assertEquals("ok quorum-cardfarm 0.1.0 readers=4 applet=dev.quorum.cardfarm.testapplet.ProbeApplet",
                one("ping"));
    }

    @Test
    void newCardsGetSequentialIds() {
        assertEquals("ok c1", one("new"));
        assertEquals("ok c2", one("new 2048"));
        assertEquals("ok c3", one("NEW noapplet"));
        assertEquals(List.of("ok 3",
                "c1 - dev.quorum.cardfarm.testapplet.ProbeApplet",
                "c2 - dev.quorum.cardfarm.testapplet.ProbeApplet",
                "c3 - -"), ask("list"));
    }

    @Test
    void badCapacityIsRefusedWithoutUsingAnId() {
        assertEquals("err capacity must be a number 0..65535, got 'big'", one("new big"));
        assertEquals("err capacity must be a number 0..65535, got 70000", one("new 70000"));
        assertEquals("err usage: new [CAPACITY] | new noapplet", one("new 1 2"));
        assertEquals("ok c1", one("new"));
    }

    @Test
    void installFailureIsAnErrorLine() {
        assertEquals("err applet install failed with status word 6A80", one("new 0"));
    }

    @Test
    void insertAndRemoveTrackWhereEachCardIs() {
        one("new");
        one("new");
        assertEquals("ok", one("insert c1 2"));
        assertEquals("ok", one("insert c2 0"));
        assertEquals(List.of("ok 2",
                "c1 2 dev.quorum.cardfarm.testapplet.ProbeApplet",
                "c2 0 dev.quorum.cardfarm.testapplet.ProbeApplet"), ask("list"));
        assertEquals("ok c1", one("remove 2"));
        assertEquals("ok -", one("remove 2"));
        assertEquals("ok", one("insert c1 3"));
        assertEquals("ok 2", one("clear"));
        assertEquals("ok 0", one("clear"));
    }

    @Test
    void aCardIsInAtMostOneReaderAndAReaderHoldsOneCard() {
        one("new");
        one("new");
        one("insert c1 1");
        assertEquals("err card c1 is already in reader 1; remove it first", one("insert c1 2"));
        assertEquals("err reader 1 already holds card c1; remove it first", one("insert c2 1"));
    }

    @Test
    void badCardsAndReadersAreNamed() {
        one("new");
        assertEquals("err no card 'c9' (see: list)", one("insert c9 0"));
        assertEquals("err reader must be a number 0..3, got 4", one("insert c1 4"));
        assertEquals("err reader must be a number 0..3, got 'x'", one("remove x"));
        assertEquals("err reader must be a number 0..3, got '-1'", one("remove -1"));
        assertEquals("err usage: insert CARD READER", one("insert c1"));
    }

    @Test
    void readersShowPortLinkCardAndName() {
        one("new");
        one("insert c1 1");
        List<String> rows = ask("readers");
        assertEquals(5, rows.size());
        assertEquals("ok 4", rows.get(0));
        String port = rows.get(1).split(" ")[1];
        assertEquals("0 " + port + " empty - Test 0 00", rows.get(1));
        assertEquals("1 " + port + " connecting c1 Test 1 00", rows.get(2));
    }

    @Test
    void unknownEmptyAndMalformedRequestsAreErrors() {
        assertEquals("err unknown command 'fly'; try: help", one("fly me"));
        assertEquals("err empty request; try: help", one("   "));
        assertEquals("err usage: list", one("list all"));
    }

    @Test
    void helpListsEveryCommand() {
        List<String> lines = ask("help");
        assertEquals("ok " + (lines.size() - 1), lines.get(0));
        for (String cmd : List.of("ping", "new", "insert", "remove", "pull-after", "short-apdus", "clear", "list", "readers", "quit", "shutdown")) {
            assertEquals(true, lines.stream().anyMatch(l -> l.startsWith(cmd + " ")), cmd);
        }
    }

    @Test
    void quitClosesTheConnectionAndShutdownStopsTheFarm() {
        assertEquals(ControlProtocol.After.CLOSE, protocol.handle("quit").after());
        assertEquals(ControlProtocol.After.SHUTDOWN, protocol.handle("shutdown").after());
        assertEquals(ControlProtocol.After.CONTINUE, protocol.handle("ping").after());
    }

    @Test
    void pullAfterNeedsACardAndANumberAndReportsTheCount() {
        one("new");
        assertEquals("err reader 2 is empty; insert a card first", one("pull-after 2 3"));
        one("insert c1 2");
        assertEquals("ok 0", one("pull-after 2 3"));
        assertEquals("ok 0", one("PULL-AFTER 2 0"));
        assertEquals("err APDU count must be a number 0..1000000, got 'x'", one("pull-after 2 x"));
        assertEquals("err APDU count must be a number 0..1000000, got 1000001", one("pull-after 2 1000001"));
        assertEquals("err reader must be a number 0..3, got 4", one("pull-after 4 1"));
        assertEquals("err usage: pull-after READER N", one("pull-after 2"));
        assertEquals("ok c1", one("remove 2"));
        assertEquals("err reader 2 is empty; insert a card first", one("pull-after 2 0"));
    }

    @Test
    void shortApdusTakesAReaderAndOnOrOff() {
        assertEquals("ok", one("short-apdus 1 on"), "an empty reader too: it is the reader's own setting");
        assertEquals("ok", one("SHORT-APDUS 1 OFF"));
        assertEquals("err short-apdus takes on or off, got 'yes'", one("short-apdus 1 yes"));
        assertEquals("err reader must be a number 0..3, got 4", one("short-apdus 4 on"));
        assertEquals("err usage: short-apdus READER on|off", one("short-apdus 1"));
    }
}
