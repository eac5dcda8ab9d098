/**
 * JMH benchmarks of vsnic's hot paths, packaged as one shaded {@code benchmarks.jar} whose entry
 * point {@link io.vsnic.bench.BenchMain} adds the project's JVM flags to every forked JVM.
 *
 * <p>Each {@code XxxBenchmark} states its own fork, warm-up and measurement and must be
 * {@code -prof gc} clean where the code under test promises not to allocate. Threads: JMH owns
 * them; a benchmark's state is per thread unless it says otherwise. Nothing here runs in the
 * default test run.
 */
package io.vsnic.bench;
