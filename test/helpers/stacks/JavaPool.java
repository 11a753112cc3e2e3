// A Java thread pool (Executors.newFixedThreadPool) whose tasks query an upstream on
// 127.0.0.1:PORT over their own connections, without a read timeout, in a loop: the shape of a
// servlet pool behind a JDBC driver. Run as `java JavaPool.java PORT WORKERS TASKS`. Prints
// "tid N" per task thread (from /proc/thread-self), then "ready" once every task sent a query.
import java.io.*;
import java.net.*;
import java.nio.file.*;
import java.util.concurrent.*;

public class JavaPool {
  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(args[0]), workers = Integer.parseInt(args[1]), tasks = Integer.parseInt(args[2]);
    ExecutorService pool = Executors.newFixedThreadPool(workers);
    CountDownLatch sent = new CountDownLatch(tasks);
    // Start every worker thread: the idle ones park on the pool's queue (futex).
    for (int i = 0; i < workers; i++) pool.submit(() -> {}).get();
    for (int i = 0; i < tasks; i++) {
      pool.submit(() -> {
        try {
          String tid = Paths.get("/proc/thread-self").toRealPath().getFileName().toString();
          synchronized (System.out) { System.out.println("tid " + tid); System.out.flush(); }
          try (Socket s = new Socket("127.0.0.1", port)) {
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            boolean first = true;
            while (true) {
              out.write("SELECT 1\n".getBytes());
              out.flush();
              if (first) { first = false; sent.countDown(); }
              byte[] buf = new byte[64];
              if (in.read(buf) < 0) return null;
            }
          }
        } catch (Exception e) {
          e.printStackTrace();
          return null;
        }
      });
    }
    sent.await();
    System.out.println("ready");
    System.out.flush();
    Thread.sleep(Long.MAX_VALUE);
  }
}
