package dev.quorum.cardfarm;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import javax.smartcardio.CardException;
import javax.smartcardio.CardTerminal;
import javax.smartcardio.TerminalFactory;

/**
 * Asks pcscd (the one PCSCLITE_CSOCK_NAME points at) which readers it has, so scripts/sim
 * can wait for every vpcd slot to appear and show pcscd's own view. A separate entry
 * point of the farm jar: the farm itself never talks to pcscd.
 *
 * <pre>java -cp farm.jar dev.quorum.cardfarm.PcscProbe [--expect READERS_FILE] [--timeout SECONDS]</pre>
 *
 * Prints "NAME\tpresent|empty" per reader. Exit 0 when every expected reader is listed,
 * 1 when the timeout passed first (the missing names go to stderr), 2 on a usage error.
 */
public final class PcscProbe {
    private static final long POLL_MS = 100;

    private PcscProbe() {}

    /** Entry point. */
    public static void main(String[] args) throws Exception {
        Path expectFile = null;
        double timeoutSeconds = 0;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--expect") && i + 1 < args.length) {
                expectFile = Path.of(args[++i]);
            } else if (args[i].equals("--timeout") && i + 1 < args.length) {
                timeoutSeconds = Double.parseDouble(args[++i]);
            } else {
                System.err.println("usage: PcscProbe [--expect READERS_FILE] [--timeout SECONDS]");
                System.exit(2);
            }
        }
        Set<String> expected = new TreeSet<>();
        if (expectFile != null) {
            for (VirtualReader r : Options.parseReaders(
                    Files.readAllLines(expectFile, StandardCharsets.UTF_8), "127.0.0.1", expectFile.toString())) {
                expected.add(r.name());
            }
        }
        long deadline = System.nanoTime() + (long) (timeoutSeconds * 1e9);
        String lastProblem = "no answer yet";
        while (true) {
            try {
                List<CardTerminal> terminals = TerminalFactory.getInstance("PC/SC", null).terminals().list();
                Set<String> seen = new TreeSet<>();
                List<String> rows = new ArrayList<>();
                for (CardTerminal t : terminals) {
                    seen.add(t.getName());
                    rows.add(t.getName() + "\t" + (t.isCardPresent() ? "present" : "empty"));
                }
                if (seen.containsAll(expected)) {
                    rows.forEach(System.out::println);
                    System.exit(0);
                }
                Set<String> missing = new TreeSet<>(expected);
                missing.removeAll(seen);
                lastProblem = "pcscd does not list " + missing;
            } catch (CardException | java.security.NoSuchAlgorithmException | RuntimeException e) {
                lastProblem = "pcscd not reachable: " + e;
            }
            if (System.nanoTime() >= deadline) {
                System.err.println("PcscProbe: " + lastProblem);
                System.exit(1);
            }
            Thread.sleep(POLL_MS);
        }
    }
}
