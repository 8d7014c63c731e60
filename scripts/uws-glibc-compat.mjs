#!/usr/bin/env node
// Runs after `npm install` / `npm ci` (postinstall). Plain JS: it must run before the build.
//
// The uWebSockets.js 20.57 Linux addons were linked against glibc 2.38 and import three C23
// functions that only glibc ≥ 2.38 defines: __isoc23_strtol, __isoc23_strtoul, __isoc23_sscanf.
// They differ from strtol, strtoul and sscanf only in also reading "0b…" binary literals (base 0
// or 2, and scanf's %b). This rewrites each addon's imports of them to the classic functions
// (which every glibc has) and marks the then-unused GLIBC_2.38 version requirement weak, so the
// addon loads on glibc 2.36 (Debian 12) as well. Idempotent; touches nothing else in the file.
import { readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SHT_DYNSYM = 11;
const SHT_GNU_VERNEED = 0x6ffffffe;
const SHT_GNU_VERSYM = 0x6fffffff;
const VER_FLG_WEAK = 0x2;
const C23_PREFIX = '__isoc23_';

function cString(buf, offset) {
  let end = offset;
  while (buf[end] !== 0) end += 1;
  return buf.toString('latin1', offset, end);
}

/** ELF64 little-endian section headers (every Linux addon the package ships). */
function sections(buf) {
  const isElf64Le = buf.readUInt32BE(0) === 0x7f454c46 && buf[4] === 2 && buf[5] === 1;
  if (!isElf64Le) return undefined;
  const shoff = Number(buf.readBigUInt64LE(0x28));
  const shentsize = buf.readUInt16LE(0x3a);
  const shnum = buf.readUInt16LE(0x3c);
  return Array.from({ length: shnum }, (_, i) => {
    const at = shoff + i * shentsize;
    return { type: buf.readUInt32LE(at + 4), offset: Number(buf.readBigUInt64LE(at + 0x18)), size: Number(buf.readBigUInt64LE(at + 0x20)), link: buf.readUInt32LE(at + 0x28), entsize: Number(buf.readBigUInt64LE(at + 0x38)) };
  });
}

/** The `Elf64_Vernaux` entries of libc.so.6: version name → { index, at (file offset) }. */
function libcVersions(buf, verneed, strtab) {
  const versions = new Map();
  let need = verneed.offset;
  for (;;) {
    const count = buf.readUInt16LE(need + 2);
    const file = cString(buf, strtab + buf.readUInt32LE(need + 4));
    let aux = need + buf.readUInt32LE(need + 8);
    for (let i = 0; i < count; i += 1) {
      if (file === 'libc.so.6') versions.set(cString(buf, strtab + buf.readUInt32LE(aux + 8)), { index: buf.readUInt16LE(aux + 6), at: aux });
      aux += buf.readUInt32LE(aux + 12);
    }
    const next = buf.readUInt32LE(need + 12);
    if (next === 0) return versions;
    need += next;
  }
}

/** Rewrites `buf` in place; returns the symbols it renamed (none when already compatible). */
export function patchAddon(buf) {
  const all = sections(buf);
  const dynsym = all?.find((s) => s.type === SHT_DYNSYM);
  const versym = all?.find((s) => s.type === SHT_GNU_VERSYM);
  const verneed = all?.find((s) => s.type === SHT_GNU_VERNEED);
  if (!dynsym || !versym || !verneed) return [];
  const strtab = all[dynsym.link].offset;
  const versions = libcVersions(buf, verneed, strtab);
  const symbols = Array.from({ length: dynsym.size / dynsym.entsize }, (_, i) => ({ i, at: dynsym.offset + i * dynsym.entsize }));
  const nameOf = (sym) => cString(buf, strtab + buf.readUInt32LE(sym.at));
  // The version libc's classic functions carry in this addon (GLIBC_2.2.5 on x64, 2.17 on arm64).
  const malloc = symbols.find((sym) => nameOf(sym) === 'malloc');
  if (!malloc) return [];
  const classicVersion = buf.readUInt16LE(versym.offset + 2 * malloc.i);
  const renamed = [];
  for (const sym of symbols) {
    const name = nameOf(sym);
    if (!name.startsWith(C23_PREFIX)) continue;
    // "__isoc23_strtol" read from 9 bytes further on is "strtol": the string table already holds it.
    buf.writeUInt32LE(buf.readUInt32LE(sym.at) + C23_PREFIX.length, sym.at);
    buf.writeUInt16LE(classicVersion, versym.offset + 2 * sym.i);
    renamed.push(name);
  }
  const glibc238 = versions.get('GLIBC_2.38');
  const stillUsed = glibc238 && symbols.some((sym) => (buf.readUInt16LE(versym.offset + 2 * sym.i) & 0x7fff) === glibc238.index);
  if (glibc238 && !stillUsed) buf.writeUInt16LE(buf.readUInt16LE(glibc238.at + 4) | VER_FLG_WEAK, glibc238.at + 4);
  return renamed;
}

function main() {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const dir = join(root, 'node_modules', 'uWebSockets.js');
  let files;
  try {
    files = readdirSync(dir).filter((f) => /^uws_linux_.*\.node$/.test(f));
  } catch {
    return; // not installed (yet)
  }
  for (const file of files) {
    const path = join(dir, file);
    const buf = readFileSync(path);
    const renamed = patchAddon(buf);
    if (renamed.length === 0) continue;
    // A new file, not a write into the old one: node_modules may be hard-linked to another tree.
    writeFileSync(`${path}.tmp`, buf, { mode: 0o755 });
    renameSync(`${path}.tmp`, path);
    console.log(`[uws-glibc-compat] ${file}: ${renamed.join(', ')} → classic glibc functions`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
