package dev.quorum.cardfarm;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.logging.Logger;

/**
 * The cards and the readers, and the rules between them: a card is in at most one
 * reader, a reader holds at most one card, and a card pulled out keeps its state.
 */
final class Farm implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(Farm.class.getName());

    /** A card and where it is; {@code reader} is -1 while the card is out. */
    record CardInfo(String id, int reader, String appletClass) {}

    /** A reader and what is in it; {@code card} is null when empty. */
    record ReaderInfo(int index, int port, VirtualReader.Link link, String card, String name) {}

    private final List<VirtualReader> readers;
    private final AppletSpec applet;
    private final ClassLoader classpath;
    private final Map<String, SimCard> cards = new LinkedHashMap<>();
    private int nextId = 1;

    /**
     * @param applet the applet every new card gets, or null for a farm of cards without one
     * @param classpath where the applet class is looked up
     */
    Farm(List<VirtualReader> readers, AppletSpec applet, ClassLoader classpath) {
        for (int i = 0; i < readers.size(); i++) {
            if (readers.get(i).index() != i) {
                throw new IllegalArgumentException("reader " + i + " has index " + readers.get(i).index());
            }
        }
        this.readers = List.copyOf(readers);
        this.applet = applet;
        this.classpath = classpath;
    }

    /** The applet new cards get, or null; for the {@code ping} answer. */
    AppletSpec applet() {
        return applet;
    }

    /** How many readers there are; reader indexes run from 0 to this minus one. */
    int readerCount() {
        return readers.size();
    }

    /**
     * Makes a new card, out of every reader, and returns its id. With {@code withApplet}
     * false the card has no applet at all (a foreign card: SELECT of the quorum AID gives 6A82).
     */
    synchronized String newCard(OptionalInt capacity, boolean withApplet) throws FarmException {
        if (withApplet && applet == null) {
            throw new FarmException("this farm was started without an applet (--applet none)");
        }
        if (!withApplet && capacity.isPresent()) {
            throw new FarmException("a capacity only makes sense for a card with the applet");
        }
        String id = "c" + nextId;
        SimCard card = SimCard.create(id, withApplet ? applet : null, capacity, classpath);
        nextId++;
        cards.put(id, card);
        LOG.info("new card " + id + (withApplet ? " with " + applet.className() : " without an applet")
                + (capacity.isPresent() ? ", capacity " + capacity.getAsInt() : ""));
        return id;
    }

    /** Puts a card that is out into an empty reader. */
    synchronized void insert(String cardId, int reader) throws FarmException {
        SimCard card = cards.get(cardId);
        if (card == null) {
            throw new FarmException("no card '" + cardId + "' (see: list)");
        }
        VirtualReader target = reader(reader);
        int current = whereIs(card);
        if (current >= 0) {
            throw new FarmException("card " + cardId + " is already in reader " + current + "; remove it first");
        }
        SimCard occupant = target.card();
        if (occupant != null) {
            throw new FarmException("reader " + reader + " already holds card " + occupant.id() + "; remove it first");
        }
        target.insert(card);
        LOG.info("inserted card " + cardId + " into reader " + reader + " (" + target.name() + ")");
    }

    /** Pulls the card out of a reader; returns its id, or null when the reader was empty. */
    synchronized String remove(int reader) throws FarmException {
        long start = System.nanoTime();
        SimCard pulled = reader(reader).remove();
        if (pulled == null) {
            return null;
        }
        LOG.info("removed card " + pulled.id() + " from reader " + reader + " in "
                + (System.nanoTime() - start) / 1_000_000 + " ms");
        return pulled.id();
    }

    /**
     * Arms (apdus &gt; 0) or disarms (0) a pull of the card in a reader after its next
     * {@code apdus} answers; returns the command APDUs it answered since its insertion.
     */
    synchronized int pullAfter(int reader, int apdus) throws FarmException {
        VirtualReader target = reader(reader);
        int answered = target.pullAfter(apdus);
        LOG.info(apdus == 0
                ? "reader " + reader + ": no pull armed; its card answered " + answered + " APDUs since its insertion"
                : "reader " + reader + ": its card will be pulled after " + apdus + " more APDUs (answered "
                        + answered + " since its insertion)");
        return answered;
    }

    /** Makes a reader carry short APDUs only (extended ones answered 6700 by it), or any again. */
    synchronized void shortApdusOnly(int reader, boolean on) throws FarmException {
        reader(reader).shortApdusOnly(on);
        LOG.info("reader " + reader + (on ? ": short APDUs only" : ": short and extended APDUs"));
    }

    /** Pulls every card out; returns how many were in. */
    synchronized int clear() {
        int pulled = 0;
        for (VirtualReader r : readers) {
            SimCard c = r.remove();
            if (c != null) {
                LOG.info("removed card " + c.id() + " from reader " + r.index());
                pulled++;
            }
        }
        return pulled;
    }

    /** All cards, oldest first, with where each is. */
    synchronized List<CardInfo> cards() {
        List<CardInfo> out = new ArrayList<>();
        for (SimCard c : cards.values()) {
            out.add(new CardInfo(c.id(), whereIs(c), c.appletClass()));
        }
        return out;
    }

    /** All readers in index order, with their link state and card. */
    List<ReaderInfo> readers() {
        List<ReaderInfo> out = new ArrayList<>();
        for (VirtualReader r : readers) {
            SimCard c = r.card();
            out.add(new ReaderInfo(r.index(), r.port(), r.link(), c == null ? null : c.id(), r.name()));
        }
        return out;
    }

    /** Pulls every card and stops every card thread. */
    @Override
    public synchronized void close() {
        clear();
        for (SimCard c : cards.values()) {
            c.close();
        }
    }

    private VirtualReader reader(int index) throws FarmException {
        if (index < 0 || index >= readers.size()) {
            throw new FarmException("no reader " + index + "; readers are 0.." + (readers.size() - 1));
        }
        return readers.get(index);
    }

    private int whereIs(SimCard card) {
        for (VirtualReader r : readers) {
            if (r.card() == card) {
                return r.index();
            }
        }
        return -1;
    }
}
