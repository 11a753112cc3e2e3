/**
 * Where the watcher reads /proc from: the local one, or a container's through a toolbox sidecar
 * sharing its PID and network namespaces (what `faultline diagnose --container` does). The sidecar
 * lives as long as the target: when the container restarts, the sidecar's namespaces are gone and
 * its exec fails, so the next sample starts a new one against whatever the name now points to.
 */
import { startSidecar, type Sidecar } from '../engine/sidecar';
import { ContainerProcReader, LocalProcReader, type ProcReader } from '../diagnose';

export interface ReaderSource {
  reader(): Promise<ProcReader>;
  /** Drops the current reader (after a failed sample): the next reader() starts afresh. */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

export function localSource(): ReaderSource {
  const reader = new LocalProcReader();
  return { reader: async () => reader, reset: async () => undefined, stop: async () => undefined };
}

/**
 * `image`: the toolbox image to run the sidecar from (FAULTLINE_TOOLBOX_IMAGE); by default the
 * package builds or finds its own, which the single-file bundle cannot (it ships no build contexts).
 */
export function containerSource(name: string, opts: { labels?: Record<string, string>; image?: string } = {}): ReaderSource {
  let sidecar: Sidecar | undefined;
  let reader: ProcReader | undefined;
  let stopped = false;
  const source: ReaderSource = {
    async reader() {
      if (stopped) throw new Error('watch stopped');
      if (!reader) {
        // startSidecar labels it dev.faultline.run (a fresh run of this process unless given).
        sidecar = await startSidecar({ target: name, sharePid: true, capabilities: ['SYS_PTRACE'], labels: opts.labels, image: opts.image });
        if (stopped) {
          await sidecar.stop();
          throw new Error('watch stopped');
        }
        reader = new ContainerProcReader(sidecar, { name });
      }
      return reader;
    },
    async reset() {
      const old = sidecar;
      sidecar = undefined;
      reader = undefined;
      await old?.stop().catch(() => undefined);
    },
    async stop() {
      stopped = true;
      await source.reset();
    },
  };
  return source;
}
