package dev.quorum.cardfarm;

import com.licel.jcardsim.base.Simulator;
import com.licel.jcardsim.base.SimulatorRuntime;
import com.licel.jcardsim.smartcardio.CardSimulator;
import java.util.OptionalInt;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.logging.Level;
import java.util.logging.Logger;
import javacard.framework.AID;
import javacard.framework.Applet;
import javacard.framework.ISOException;
import javacard.framework.SystemException;

/**
 * One simulated card. jcardsim keeps the current JavaCard runtime in a thread-local, so
 * every call into this card's simulator runs on the card's own thread: the card always
 * executes in its own context, whichever reader thread asked.
 */
final class SimCard implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(SimCard.class.getName());
    /** Answer to an APDU the simulator could not even parse: "no precise diagnosis". */
    private static final byte[] SW_NO_DIAGNOSIS = {0x6F, 0x00};
    /** Answer to a SELECT of an AID no applet on the card has. */
    private static final byte[] SW_FILE_NOT_FOUND = {0x6A, (byte) 0x82};

    private final String id;
    private final AppletSpec applet;
    private final ExecutorService thread;
    private final Simulator sim;
    private final byte[] atr = Atr.bytes();

    private SimCard(String id, AppletSpec applet, ExecutorService thread, Simulator sim) {
        this.id = id;
        this.applet = applet;
        this.thread = thread;
        this.sim = sim;
    }

    /**
     * Creates a card and installs a private copy of the applet on it (none when
     * {@code applet} is null, which makes a "foreign" card that answers SELECT with 6A82).
     */
    static SimCard create(String id, AppletSpec applet, OptionalInt capacity, ClassLoader classpath)
            throws FarmException {
        ExecutorService thread = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "card-" + id);
            t.setDaemon(true);
            return t;
        });
        try {
            Simulator sim = call(thread, () -> {
                SimulatorRuntime runtime = new SimulatorRuntime();
                CardSimulator s = new CardSimulator(runtime);
                if (applet != null) {
                    install(s, runtime, applet, capacity, classpath);
                }
                return s;
            });
            return new SimCard(id, applet, thread, sim);
        } catch (FarmException | RuntimeException e) {
            thread.shutdownNow();
            throw e;
        }
    }

    private static void install(CardSimulator s, SimulatorRuntime runtime, AppletSpec applet,
            OptionalInt capacity, ClassLoader classpath) throws FarmException {
        Class<?> cls;
        try {
            cls = applet.loadForOneCard(classpath);
        } catch (ClassNotFoundException | LinkageError e) {
            throw new FarmException("applet class " + applet.className()
                    + " is not on the farm's classpath (build the applet jar and pass it with -cp)", e);
        }
        if (!Applet.class.isAssignableFrom(cls)) {
            throw new FarmException("class " + applet.className() + " does not extend javacard.framework.Applet");
        }
        byte[] data = applet.installData(capacity);
        byte[] aidBytes = applet.aid();
        AID aid = new AID(aidBytes, (short) 0, (byte) aidBytes.length);
        try {
            s.loadApplet(aid, cls.asSubclass(Applet.class));
            // Simulator.createApplet would turn every install failure into 6444; the
            // runtime itself lets the applet's ISOException through with its status word.
            synchronized (runtime) {
                runtime.installApplet(aid, data, (short) 0, (byte) data.length);
            }
        } catch (ISOException e) {
            throw new FarmException(String.format("applet install failed with status word %04X",
                    e.getReason() & 0xFFFF), e);
        } catch (SystemException e) {
            throw new FarmException("applet install failed (JavaCard SystemException reason "
                    + e.getReason() + ")", e);
        } catch (RuntimeException e) {
            throw new FarmException("applet install failed: " + e, e);
        }
    }

    /** The id the control channel knows this card by. */
    String id() {
        return id;
    }

    /** The installed applet's class name, or null for a card without one. */
    String appletClass() {
        return applet == null ? null : applet.className();
    }

    /** The ATR, answered to vpcd's GET ATR (which it also sends to poll for presence). */
    byte[] atr() {
        return atr.clone();
    }

    /**
     * Runs one command APDU and returns the response APDU. Never throws: what the
     * simulator cannot handle is answered 6F00 and logged, so one bad APDU does not
     * tear the reader connection down.
     */
    byte[] transmit(byte[] apdu) {
        try {
            byte[] response = call(thread, () -> sim.transmitCommand(apdu));
            return selectsNothing(apdu, response) ? SW_FILE_NOT_FOUND.clone() : response;
        } catch (FarmException | RuntimeException e) {
            LOG.log(Level.WARNING, "card " + id + ": simulator failed on a " + apdu.length
                    + "-byte APDU, answering 6F00", e);
            return SW_NO_DIAGNOSIS.clone();
        }
    }

    /**
     * True when jcardsim answered a SELECT by AID that names no applet on this card with
     * 6999. A real card's card manager answers that SELECT with 6A82 (file not found), and
     * hosts rely on it to tell "not a quorum card"; 6999 stays for an applet whose
     * {@code select()} refused.
     */
    private boolean selectsNothing(byte[] apdu, byte[] response) {
        if (response.length != 2 || (response[0] & 0xFF) != 0x69 || (response[1] & 0xFF) != 0x99) {
            return false;
        }
        if (apdu.length < 5 || apdu[1] != (byte) 0xA4 || apdu[2] != 0x04 || (apdu[0] & 0x80) != 0) {
            return false;
        }
        int lc = apdu[4] & 0xFF;
        if (applet == null || lc == 0 || apdu.length < 5 + lc) {
            return true;
        }
        byte[] installed = applet.aid();
        if (lc > installed.length) {
            return true;
        }
        for (int i = 0; i < lc; i++) {
            if (apdu[5 + i] != installed[i]) {
                return true;
            }
        }
        return false;
    }

    /**
     * Resets the card as a power cycle would: transient memory and the selected applet
     * are cleared, persistent memory (the applet's fields) stays.
     */
    void reset() {
        try {
            call(thread, () -> {
                sim.reset();
                return null;
            });
        } catch (FarmException | RuntimeException e) {
            LOG.log(Level.WARNING, "card " + id + ": reset failed", e);
        }
    }

    /** Stops the card's thread; the card is unusable afterwards. */
    @Override
    public void close() {
        thread.shutdownNow();
    }

    private static <T> T call(ExecutorService thread, Callable<T> work) throws FarmException {
        Future<T> result = thread.submit(work);
        try {
            return result.get();
        } catch (InterruptedException e) {
            // The card finishes the command on its own thread, as a chip would.
            Thread.currentThread().interrupt();
            throw new FarmException("interrupted while the card was working", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof FarmException fe) {
                throw fe;
            }
            if (cause instanceof RuntimeException re) {
                throw re;
            }
            if (cause instanceof VirtualMachineError vme) {
                throw vme;
            }
            throw new FarmException("card failed: " + cause, cause);
        }
    }
}
