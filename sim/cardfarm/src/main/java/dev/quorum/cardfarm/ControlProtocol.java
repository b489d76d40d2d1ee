package dev.quorum.cardfarm;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.OptionalInt;

/**
 * The control channel's line protocol (documented in README.md), without the socket:
 * one request line in, reply lines out. Every reply starts with {@code ok} or
 * {@code err <reason>}; {@code ok N} on a listing means N more lines follow.
 *
 * <p>{@code pull-after READER N} cuts a card off between two APDUs: the card in READER is
 * pulled out, exactly as by {@code remove READER}, right after it has sent its answer to
 * the N-th command APDU from now. Counted are the command APDUs vpcd passes to the card
 * (frames longer than one byte), whatever the card answers, GET RESPONSE included (the
 * applet answers it itself, there is no T=0 layer in between); power on/off, reset and
 * ATR requests are not. The host receives that N-th answer; its next APDU finds the card
 * gone. {@code N = 0} disarms; taking the card out ({@code remove}, {@code clear}) or a
 * new {@code insert} leaves nothing armed. The reply {@code ok ANSWERED} gives how many
 * command APDUs the card answered since its insertion, so {@code pull-after READER 0}
 * reads that count without arming. An empty reader is an error.
 */
final class ControlProtocol {
    /** What the connection does after the reply has been sent. */
    enum After {
        /** Read the next request. */
        CONTINUE,
        /** Close this control connection ({@code quit}). */
        CLOSE,
        /** Stop the whole farm ({@code shutdown}). */
        SHUTDOWN
    }

    /** The lines to send back and what to do next. */
    record Reply(List<String> lines, After after) {
        static Reply ok(String value) {
            return new Reply(List.of(value.isEmpty() ? "ok" : "ok " + value), After.CONTINUE);
        }

        static Reply listing(List<String> rows) {
            List<String> lines = new ArrayList<>(rows.size() + 1);
            lines.add("ok " + rows.size());
            lines.addAll(rows);
            return new Reply(List.copyOf(lines), After.CONTINUE);
        }

        static Reply err(String reason) {
            return new Reply(List.of("err " + oneLine(reason)), After.CONTINUE);
        }
    }

    /** The largest N of {@code pull-after READER N}. */
    static final int MAX_PULL_AFTER = 1_000_000;

    /** Version string in the {@code ping} answer. */
    static final String NAME = "quorum-cardfarm 0.1.0";

    private static final List<String> HELP = List.of(
            "ping                  -> ok quorum-cardfarm VERSION readers=N applet=CLASS|none",
            "new [CAPACITY]        -> ok CARD   (new card with the applet; CAPACITY 0..65535 bytes)",
            "new noapplet          -> ok CARD   (new card without any applet)",
            "insert CARD READER    -> ok",
            "remove READER         -> ok CARD | ok -",
            "pull-after READER N   -> ok ANSWERED  (pull the card after N more APDUs; 0 disarms;",
            "                         ANSWERED = APDUs it answered since its insertion)",
            "short-apdus READER on|off -> ok    (on: the reader answers extended-length APDUs 6700",
            "                         itself, as a T=0 or short-APDU reader refuses them)",
            "clear                 -> ok N      (pulls every card; N were in)",
            "list                  -> ok N, then N lines: CARD READER|- APPLET|-",
            "readers               -> ok N, then N lines: INDEX PORT empty|connecting|connected CARD|- NAME",
            "help                  -> ok N, then this text",
            "quit                  -> ok, then the connection closes",
            "shutdown              -> ok, then the farm pulls every card and exits");

    private final Farm farm;

    ControlProtocol(Farm farm) {
        this.farm = farm;
    }

    /** Answers one request line. Never throws for bad input: that is an {@code err} reply. */
    Reply handle(String line) {
        String[] words = line.trim().split("\\s+");
        if (words.length == 1 && words[0].isEmpty()) {
            return Reply.err("empty request; try: help");
        }
        String command = words[0].toLowerCase(Locale.ROOT);
        try {
            return switch (command) {
                case "ping" -> expect(words, 0, "ping", () -> Reply.ok(ping()));
                case "new" -> newCard(words);
                case "insert" -> expect(words, 2, "insert CARD READER", () -> {
                    farm.insert(words[1], readerIndex(words[2]));
                    return Reply.ok("");
                });
                case "remove" -> expect(words, 1, "remove READER", () -> {
                    String pulled = farm.remove(readerIndex(words[1]));
                    return Reply.ok(pulled == null ? "-" : pulled);
                });
                case "pull-after" -> expect(words, 2, "pull-after READER N", () -> {
                    int reader = readerIndex(words[1]);
                    int apdus = number(words[2], MAX_PULL_AFTER, "APDU count");
                    return Reply.ok(Integer.toString(farm.pullAfter(reader, apdus)));
                });
                case "short-apdus" -> expect(words, 2, "short-apdus READER on|off", () -> {
                    int reader = readerIndex(words[1]);
                    boolean on = switch (words[2].toLowerCase(Locale.ROOT)) {
                        case "on" -> true;
                        case "off" -> false;
                        default -> throw new FarmException(
                                "short-apdus takes on or off, got '" + oneLine(words[2]) + "'");
                    };
                    farm.shortApdusOnly(reader, on);
                    return Reply.ok("");
                });
                case "clear" -> expect(words, 0, "clear", () -> Reply.ok(Integer.toString(farm.clear())));
                case "list" -> expect(words, 0, "list", () -> Reply.listing(cardRows()));
                case "readers" -> expect(words, 0, "readers", () -> Reply.listing(readerRows()));
                case "help" -> expect(words, 0, "help", () -> Reply.listing(HELP));
                case "quit" -> expect(words, 0, "quit", () -> new Reply(List.of("ok"), After.CLOSE));
                case "shutdown" -> expect(words, 0, "shutdown", () -> new Reply(List.of("ok"), After.SHUTDOWN));
                default -> Reply.err("unknown command '" + oneLine(words[0]) + "'; try: help");
            };
        } catch (FarmException e) {
            return Reply.err(e.getMessage());
        }
    }

    private interface Action {
        Reply run() throws FarmException;
    }

    private static Reply expect(String[] words, int args, String usage, Action action) throws FarmException {
        if (words.length - 1 != args) {
            return Reply.err("usage: " + usage);
        }
        return action.run();
    }

    private Reply newCard(String[] words) throws FarmException {
        if (words.length > 2) {
            return Reply.err("usage: new [CAPACITY] | new noapplet");
        }
        if (words.length == 1) {
            return Reply.ok(farm.newCard(OptionalInt.empty(), true));
        }
        if (words[1].equalsIgnoreCase("noapplet")) {
            return Reply.ok(farm.newCard(OptionalInt.empty(), false));
        }
        return Reply.ok(farm.newCard(OptionalInt.of(number(words[1], 0xFFFF, "capacity")), true));
    }

    private String ping() {
        AppletSpec applet = farm.applet();
        return NAME + " readers=" + farm.readerCount() + " applet=" + (applet == null ? "none" : applet.className());
    }

    private List<String> cardRows() {
        List<String> rows = new ArrayList<>();
        for (Farm.CardInfo c : farm.cards()) {
            rows.add(c.id() + " " + (c.reader() < 0 ? "-" : Integer.toString(c.reader())) + " "
                    + (c.appletClass() == null ? "-" : c.appletClass()));
        }
        return rows;
    }

    private List<String> readerRows() {
        List<String> rows = new ArrayList<>();
        for (Farm.ReaderInfo r : farm.readers()) {
            rows.add(r.index() + " " + r.port() + " " + r.link().word() + " "
                    + (r.card() == null ? "-" : r.card()) + " " + r.name());
        }
        return rows;
    }

    private int readerIndex(String word) throws FarmException {
        return number(word, farm.readerCount() - 1, "reader");
    }

    private static int number(String word, int max, String what) throws FarmException {
        if (!word.matches("[0-9]{1,9}")) {
            throw new FarmException(what + " must be a number 0.." + max + ", got '" + oneLine(word) + "'");
        }
        int n = Integer.parseInt(word);
        if (n > max) {
            throw new FarmException(what + " must be a number 0.." + max + ", got " + n);
        }
        return n;
    }

    private static String oneLine(String s) {
        String flat = s.replaceAll("[\\r\\n]+", " ");
        return flat.length() > 200 ? flat.substring(0, 200) + "..." : flat;
    }
}
