// A Java thread pool for the corpus (`java ThreadPool.java ADDR THREADS UPSTREAM [idle] [--tag T]`):
// an accept loop hands each client connection to Executors.newFixedThreadPool(THREADS); every
// request line queries UPSTREAM (HOST:PORT, a line protocol, see upstream.py) on the thread's own
// pooled connection. "idle": each pool thread opens its connection at start and waits for work.
// Prints "ready". Bounded: exits after 600 s.
import java.io.*;
import java.net.*;
import java.util.concurrent.*;

public class ThreadPool {
    static String upHost; static int upPort;
    static final ThreadLocal<Socket> conn = new ThreadLocal<>();

    static Socket pooled() throws IOException {
        Socket s = conn.get();
        if (s == null) { s = new Socket(upHost, upPort); conn.set(s); }
        return s;
    }

    static void query() throws IOException {
        Socket s = pooled();
        s.getOutputStream().write("SELECT 1\n".getBytes());
        InputStream in = s.getInputStream();
        int b;
        while ((b = in.read()) != -1 && b != '\n') { }
    }

    public static void main(String[] args) throws Exception {
        String[] listen = args[0].split(":");
        int threads = Integer.parseInt(args[1]);
        String[] up = args[2].split(":");
        upHost = up[0]; upPort = Integer.parseInt(up[1]);
        boolean idle = args.length > 3 && args[3].equals("idle");
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        if (idle) {
            CountDownLatch warm = new CountDownLatch(threads);
            CyclicBarrier all = new CyclicBarrier(threads);
            for (int i = 0; i < threads; i++) pool.submit(() -> { pooled(); warm.countDown(); all.await(); return null; });
            warm.await();
        }
        ServerSocket srv = new ServerSocket(Integer.parseInt(listen[1]), 64, InetAddress.getByName(listen[0]));
        System.out.println("ready");
        System.out.flush();
        Thread exit = new Thread(() -> { try { Thread.sleep(600_000); } catch (InterruptedException e) { } System.exit(0); });
        exit.setDaemon(true); exit.start();
        while (true) {
            Socket c = srv.accept();
            pool.submit(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(c.getInputStream()))) {
                    while (r.readLine() != null) { query(); c.getOutputStream().write("DONE\n".getBytes()); }
                } catch (IOException e) { }
                return null;
            });
        }
    }
}
