/**
 * Linux system calls through the FFM API ({@code java.lang.foreign}): the libc bindings with errno
 * capture ({@link io.vsnic.vnic.linux.LibC}), errno names, and a descriptor that threads may share
 * safely while it is closed ({@link io.vsnic.vnic.linux.NativeFd}). Internal to the vnic module's
 * endpoints; every class here may be used from any thread. The JVM needs
 * {@code --enable-native-access=ALL-UNNAMED}.
 */
package io.vsnic.vnic.linux;
