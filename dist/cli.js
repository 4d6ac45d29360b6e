#!/usr/bin/env node
import { createRequire as __nrCreateRequire } from 'node:module'; const require = __nrCreateRequire(import.meta.url);
if (Number(process.versions.node.split('.')[0]) < 22) { console.error(`nixos-rehearse needs Node 22.12 or newer (this is ${process.version}).`); process.exit(1); }

// src/cli.ts
import { rmSync as rmSync12 } from "node:fs";

// src/demo-upgrade.ts
import { cpSync, readFileSync as readFileSync2, writeFileSync as writeFileSync2 } from "node:fs";
import path2 from "node:path";

// src/errors.ts
var RehearseError = class extends Error {
  constructor(kind, message, fields = {}, options) {
    super(message, options);
    this.kind = kind;
    this.fields = fields;
    this.name = "RehearseError";
  }
  kind;
  fields;
};
function kindOf(e) {
  const err = e;
  const k = err?.kind;
  if (typeof k === "string" && KINDS.has(k)) return k;
  if (err?.code === "ENOENT" && typeof err.syscall === "string" && err.syscall.startsWith("spawn")) return "host-not-ready";
  return "internal";
}
var KINDS = /* @__PURE__ */ new Set(["input", "host-not-ready", "iso-checksum-mismatch", "iso-download", "unknown-flake-host", "wrong-disk", "qemu-exited", "console-timeout", "console-closed", "protocol", "guest-gave-up", "power-off-timeout", "phase-timeout", "interrupted", "internal"]);
function errorRecord(e, where = {}) {
  const err = e;
  const message = typeof err?.message === "string" ? err.message : String(e);
  const rec = { kind: kindOf(e), message: message.length > 2e3 ? `${message.slice(0, 1999)}\u2026` : message };
  if (where.phase) rec.phase = where.phase;
  if (where.step) rec.step = where.step;
  const serial = typeof err?.serialTail === "string" ? err.serialTail : typeof err?.fields?.serialTail === "string" ? err.fields.serialTail : void 0;
  if (serial) rec.serialTail = serial;
  const fields = { ...err?.fields ?? {} };
  delete fields.serialTail;
  if (Object.keys(fields).length) rec.fields = fields;
  return rec;
}
var PowerOffTimeoutError = class extends RehearseError {
  constructor(machine, awaited, seconds, serialTail) {
    super("power-off-timeout", awaited === "reboot" ? `${machine}: no reboot within ${seconds}s` : `${machine} did not power off within ${seconds}s`, { machine, awaited, seconds });
    this.machine = machine;
    this.awaited = awaited;
    this.seconds = seconds;
    this.serialTail = serialTail;
    this.name = "PowerOffTimeoutError";
  }
  machine;
  awaited;
  seconds;
  serialTail;
};
var GuestGaveUpError = class extends RehearseError {
  constructor(system, stage, shown, serialTail) {
    super("guest-gave-up", system === "installer" && stage === "the kernel" ? `the installer kernel panicked: ${shown}` : `the ${system} did not come up: ${stage} gave up: ${shown}`, { system, stage, shown });
    this.system = system;
    this.stage = stage;
    this.shown = shown;
    this.serialTail = serialTail;
    this.name = "GuestGaveUpError";
  }
  system;
  stage;
  shown;
  serialTail;
};
function stageTail(e) {
  const err = e;
  if (typeof err?.serialTail !== "string" || !err.serialTail) return void 0;
  const k = kindOf(e);
  const onControl = (k === "console-timeout" || k === "console-closed") && typeof err.fields?.console === "string" && !err.fields.console.endsWith(" serial");
  return onControl && err.serialTail === err.tail ? void 0 : err.serialTail;
}

// src/leftovers.ts
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
var OWNER_FILE = ".nixos-rehearse-owner";
var PREFIX = /^nixos-rehearse-(run|key|harness|askpass|speed|probe|sockets)-/;
function processAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === "EPERM";
  }
}
function processStart(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return void 0;
  }
}
function ownedTempDir(prefix) {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  writeFileSync(path.join(dir, OWNER_FILE), `${JSON.stringify({ pid: process.pid, start: processStart(process.pid) })}
`);
  return dir;
}
function removeLeftovers(tmp = os.tmpdir()) {
  const removed = [];
  let names = [];
  try {
    names = readdirSync(tmp);
  } catch {
    return removed;
  }
  for (const name of names) {
    if (!PREFIX.test(name)) continue;
    const dir = path.join(tmp, name);
    let owner;
    try {
      owner = JSON.parse(readFileSync(path.join(dir, OWNER_FILE), "utf8"));
    } catch {
      continue;
    }
    if (typeof owner.pid !== "number") continue;
    const start = processStart(owner.pid);
    if (start !== void 0 && start === owner.start) continue;
    rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}

// src/demo-upgrade.ts
var PULL_REQUEST_PATH = { name: "rehearse-notes", version: "1.0" };
var SERVICE = [
  "  systemd.services.rehearse-hello = {",
  '    description = "A service pull request 42 adds";',
  '    wantedBy = [ "multi-user.target" ];',
  '    serviceConfig = { Type = "oneshot"; RemainAfterExit = true; };',
  '    script = "echo rehearse-hello: up";',
  "  };",
  ""
].join("\n");
function pullRequestFlake(base) {
  const dir = ownedTempDir("nixos-rehearse-demo-pr-");
  cpSync(base, dir, { recursive: true });
  const cfg = path2.join(dir, "configuration.nix");
  const before = readFileSync2(cfg, "utf8");
  const release = 'environment.etc."rehearse/release".text = "generation-one";';
  if (!before.includes(release) || !before.includes("\n  services.openssh = {")) throw new RehearseError("internal", `the fixture flake's configuration.nix no longer has the lines demo --upgrade changes (${cfg})`);
  const after = before.replace(release, `environment.etc."rehearse/release".text = "pull-request-42";
  environment.etc."rehearse/motd".text = "upgraded by pull request 42";
  environment.etc."rehearse/notes".source = builtins.toFile "${PULL_REQUEST_PATH.name}-${PULL_REQUEST_PATH.version}" "release notes of pull request 42\\n";`).replace("\n  services.openssh = {", `
${SERVICE}  services.openssh = {`);
  writeFileSync2(cfg, after);
  return dir;
}

// node_modules/commander/lib/error.js
var CommanderError = class extends Error {
  /**
   * Constructs the CommanderError class
   * @param {number} exitCode suggested exit code which could be used with process.exit
   * @param {string} code an id string representing the error
   * @param {string} message human-readable description of the error
   */
  constructor(exitCode, code2, message) {
    super(message);
    Error.captureStackTrace(this, this.constructor);
    this.name = this.constructor.name;
    this.code = code2;
    this.exitCode = exitCode;
    this.nestedError = void 0;
  }
};
var InvalidArgumentError = class extends CommanderError {
  /**
   * Constructs the InvalidArgumentError class
   * @param {string} [message] explanation of why argument is invalid
   */
  constructor(message) {
    super(1, "commander.invalidArgument", message);
    Error.captureStackTrace(this, this.constructor);
    this.name = this.constructor.name;
  }
};

// node_modules/commander/lib/argument.js
var Argument = class {
  /**
   * Initialize a new command argument with the given name and description.
   * The default is that the argument is required, and you can explicitly
   * indicate this with <> around the name. Put [] around the name for an optional argument.
   *
   * @param {string} name
   * @param {string} [description]
   */
  constructor(name, description) {
    this.description = description || "";
    this.variadic = false;
    this.parseArg = void 0;
    this.defaultValue = void 0;
    this.defaultValueDescription = void 0;
    this.argChoices = void 0;
    switch (name[0]) {
      case "<":
        this.required = true;
        this._name = name.slice(1, -1);
        break;
      case "[":
        this.required = false;
        this._name = name.slice(1, -1);
        break;
      default:
        this.required = true;
        this._name = name;
        break;
    }
    if (this._name.endsWith("...")) {
      this.variadic = true;
      this._name = this._name.slice(0, -3);
    }
  }
  /**
   * Return argument name.
   *
   * @return {string}
   */
  name() {
    return this._name;
  }
  /**
   * @package
   */
  _collectValue(value, previous) {
    if (previous === this.defaultValue || !Array.isArray(previous)) {
      return [value];
    }
    previous.push(value);
    return previous;
  }
  /**
   * Set the default value, and optionally supply the description to be displayed in the help.
   *
   * @param {*} value
   * @param {string} [description]
   * @return {Argument}
   */
  default(value, description) {
    this.defaultValue = value;
    this.defaultValueDescription = description;
    return this;
  }
  /**
   * Set the custom handler for processing CLI command arguments into argument values.
   *
   * @param {Function} [fn]
   * @return {Argument}
   */
  argParser(fn) {
    this.parseArg = fn;
    return this;
  }
  /**
   * Only allow argument value to be one of choices.
   *
   * @param {string[]} values
   * @return {Argument}
   */
  choices(values) {
    this.argChoices = values.slice();
    this.parseArg = (arg, previous) => {
      if (!this.argChoices.includes(arg)) {
        throw new InvalidArgumentError(
          `Allowed choices are ${this.argChoices.join(", ")}.`
        );
      }
      if (this.variadic) {
        return this._collectValue(arg, previous);
      }
      return arg;
    };
    return this;
  }
  /**
   * Make argument required.
   *
   * @returns {Argument}
   */
  argRequired() {
    this.required = true;
    return this;
  }
  /**
   * Make argument optional.
   *
   * @returns {Argument}
   */
  argOptional() {
    this.required = false;
    return this;
  }
};
function humanReadableArgName(arg) {
  const nameOutput = arg.name() + (arg.variadic === true ? "..." : "");
  return arg.required ? "<" + nameOutput + ">" : "[" + nameOutput + "]";
}

// node_modules/commander/lib/command.js
import { EventEmitter } from "node:events";
import childProcess from "node:child_process";
import path3 from "node:path";
import fs from "node:fs";
import process2 from "node:process";
import { stripVTControlCharacters as stripVTControlCharacters2 } from "node:util";

// node_modules/commander/lib/help.js
import { stripVTControlCharacters } from "node:util";
var Help = class {
  constructor() {
    this.helpWidth = void 0;
    this.minWidthToWrap = 40;
    this.sortSubcommands = false;
    this.sortOptions = false;
    this.showGlobalOptions = false;
  }
  /**
   * prepareContext is called by Commander after applying overrides from `Command.configureHelp()`
   * and just before calling `formatHelp()`.
   *
   * Commander just uses the helpWidth and the rest is provided for optional use by more complex subclasses.
   *
   * @param {{ error?: boolean, helpWidth?: number, outputHasColors?: boolean }} contextOptions
   */
  prepareContext(contextOptions) {
    this.helpWidth = this.helpWidth ?? contextOptions.helpWidth ?? 80;
  }
  /**
   * Get an array of the visible subcommands. Includes a placeholder for the implicit help command, if there is one.
   *
   * @param {Command} cmd
   * @returns {Command[]}
   */
  visibleCommands(cmd) {
    const visibleCommands = cmd.commands.filter((cmd2) => !cmd2._hidden);
    const helpCommand = cmd._getHelpCommand();
    if (helpCommand && !helpCommand._hidden) {
      visibleCommands.push(helpCommand);
    }
    if (this.sortSubcommands) {
      visibleCommands.sort((a2, b) => {
        return a2.name().localeCompare(b.name());
      });
    }
    return visibleCommands;
  }
  /**
   * Compare options for sort.
   *
   * @param {Option} a
   * @param {Option} b
   * @returns {number}
   */
  compareOptions(a2, b) {
    const getSortKey = (option) => {
      return option.short ? option.short.replace(/^-/, "") : option.long.replace(/^--/, "");
    };
    return getSortKey(a2).localeCompare(getSortKey(b));
  }
  /**
   * Get an array of the visible options. Includes a placeholder for the implicit help option, if there is one.
   *
   * @param {Command} cmd
   * @returns {Option[]}
   */
  visibleOptions(cmd) {
    const visibleOptions = cmd.options.filter((option) => !option.hidden);
    const helpOption = cmd._getHelpOption();
    if (helpOption && !helpOption.hidden) {
      const removeShort = helpOption.short && cmd._findOption(helpOption.short);
      const removeLong = helpOption.long && cmd._findOption(helpOption.long);
      if (!removeShort && !removeLong) {
        visibleOptions.push(helpOption);
      } else if (helpOption.long && !removeLong) {
        visibleOptions.push(
          cmd.createOption(helpOption.long, helpOption.description).helpGroup(helpOption.helpGroupHeading)
        );
      } else if (helpOption.short && !removeShort) {
        visibleOptions.push(
          cmd.createOption(helpOption.short, helpOption.description).helpGroup(helpOption.helpGroupHeading)
        );
      }
    }
    if (this.sortOptions) {
      visibleOptions.sort(this.compareOptions);
    }
    return visibleOptions;
  }
  /**
   * Get an array of the visible global options. (Not including help.)
   *
   * @param {Command} cmd
   * @returns {Option[]}
   */
  visibleGlobalOptions(cmd) {
    if (!this.showGlobalOptions) return [];
    const globalOptions = [];
    for (let ancestorCmd = cmd.parent; ancestorCmd; ancestorCmd = ancestorCmd.parent) {
      const visibleOptions = ancestorCmd.options.filter(
        (option) => !option.hidden
      );
      globalOptions.push(...visibleOptions);
    }
    if (this.sortOptions) {
      globalOptions.sort(this.compareOptions);
    }
    return globalOptions;
  }
  /**
   * Get an array of the arguments if any have a description.
   *
   * @param {Command} cmd
   * @returns {Argument[]}
   */
  visibleArguments(cmd) {
    if (cmd._argsDescription) {
      cmd.registeredArguments.forEach((argument) => {
        argument.description = argument.description || cmd._argsDescription[argument.name()] || "";
      });
    }
    if (cmd.registeredArguments.find((argument) => argument.description)) {
      return cmd.registeredArguments;
    }
    return [];
  }
  /**
   * Get the command term to show in the list of subcommands.
   *
   * @param {Command} cmd
   * @returns {string}
   */
  subcommandTerm(cmd) {
    const args = cmd.registeredArguments.map((arg) => humanReadableArgName(arg)).join(" ");
    return cmd._name + (cmd._aliases[0] ? "|" + cmd._aliases[0] : "") + (cmd.options.length ? " [options]" : "") + // simplistic check for non-help option
    (args ? " " + args : "");
  }
  /**
   * Get the option term to show in the list of options.
   *
   * @param {Option} option
   * @returns {string}
   */
  optionTerm(option) {
    return option.flags;
  }
  /**
   * Get the argument term to show in the list of arguments.
   *
   * @param {Argument} argument
   * @returns {string}
   */
  argumentTerm(argument) {
    return argument.name();
  }
  /**
   * Get the longest command term length.
   *
   * @param {Command} cmd
   * @param {Help} helper
   * @returns {number}
   */
  longestSubcommandTermLength(cmd, helper) {
    return helper.visibleCommands(cmd).reduce((max, command) => {
      return Math.max(
        max,
        this.displayWidth(
          helper.styleSubcommandTerm(helper.subcommandTerm(command))
        )
      );
    }, 0);
  }
  /**
   * Get the longest option term length.
   *
   * @param {Command} cmd
   * @param {Help} helper
   * @returns {number}
   */
  longestOptionTermLength(cmd, helper) {
    return helper.visibleOptions(cmd).reduce((max, option) => {
      return Math.max(
        max,
        this.displayWidth(helper.styleOptionTerm(helper.optionTerm(option)))
      );
    }, 0);
  }
  /**
   * Get the longest global option term length.
   *
   * @param {Command} cmd
   * @param {Help} helper
   * @returns {number}
   */
  longestGlobalOptionTermLength(cmd, helper) {
    return helper.visibleGlobalOptions(cmd).reduce((max, option) => {
      return Math.max(
        max,
        this.displayWidth(helper.styleOptionTerm(helper.optionTerm(option)))
      );
    }, 0);
  }
  /**
   * Get the longest argument term length.
   *
   * @param {Command} cmd
   * @param {Help} helper
   * @returns {number}
   */
  longestArgumentTermLength(cmd, helper) {
    return helper.visibleArguments(cmd).reduce((max, argument) => {
      return Math.max(
        max,
        this.displayWidth(
          helper.styleArgumentTerm(helper.argumentTerm(argument))
        )
      );
    }, 0);
  }
  /**
   * Get the command usage to be displayed at the top of the built-in help.
   *
   * @param {Command} cmd
   * @returns {string}
   */
  commandUsage(cmd) {
    let cmdName = cmd._name;
    if (cmd._aliases[0]) {
      cmdName = cmdName + "|" + cmd._aliases[0];
    }
    let ancestorCmdNames = "";
    for (let ancestorCmd = cmd.parent; ancestorCmd; ancestorCmd = ancestorCmd.parent) {
      ancestorCmdNames = ancestorCmd.name() + " " + ancestorCmdNames;
    }
    return ancestorCmdNames + cmdName + " " + cmd.usage();
  }
  /**
   * Get the description for the command.
   *
   * @param {Command} cmd
   * @returns {string}
   */
  commandDescription(cmd) {
    return cmd.description();
  }
  /**
   * Get the subcommand summary to show in the list of subcommands.
   * (Fallback to description for backwards compatibility.)
   *
   * @param {Command} cmd
   * @returns {string}
   */
  subcommandDescription(cmd) {
    return cmd.summary() || cmd.description();
  }
  /**
   * Get the option description to show in the list of options.
   *
   * @param {Option} option
   * @return {string}
   */
  optionDescription(option) {
    const extraInfo = [];
    if (option.argChoices) {
      extraInfo.push(
        // use stringify to match the display of the default value
        `choices: ${option.argChoices.map((choice) => JSON.stringify(choice)).join(", ")}`
      );
    }
    if (option.defaultValue !== void 0) {
      const showDefault = option.required || option.optional || option.isBoolean() && typeof option.defaultValue === "boolean";
      if (showDefault) {
        extraInfo.push(
          `default: ${option.defaultValueDescription || JSON.stringify(option.defaultValue)}`
        );
      }
    }
    if (option.presetArg !== void 0 && option.optional) {
      extraInfo.push(`preset: ${JSON.stringify(option.presetArg)}`);
    }
    if (option.envVar !== void 0) {
      extraInfo.push(`env: ${option.envVar}`);
    }
    if (extraInfo.length > 0) {
      const extraDescription = `(${extraInfo.join(", ")})`;
      if (option.description) {
        return `${option.description} ${extraDescription}`;
      }
      return extraDescription;
    }
    return option.description;
  }
  /**
   * Get the argument description to show in the list of arguments.
   *
   * @param {Argument} argument
   * @return {string}
   */
  argumentDescription(argument) {
    const extraInfo = [];
    if (argument.argChoices) {
      extraInfo.push(
        // use stringify to match the display of the default value
        `choices: ${argument.argChoices.map((choice) => JSON.stringify(choice)).join(", ")}`
      );
    }
    if (argument.defaultValue !== void 0) {
      extraInfo.push(
        `default: ${argument.defaultValueDescription || JSON.stringify(argument.defaultValue)}`
      );
    }
    if (extraInfo.length > 0) {
      const extraDescription = `(${extraInfo.join(", ")})`;
      if (argument.description) {
        return `${argument.description} ${extraDescription}`;
      }
      return extraDescription;
    }
    return argument.description;
  }
  /**
   * Format a list of items, given a heading and an array of formatted items.
   *
   * @param {string} heading
   * @param {string[]} items
   * @param {Help} helper
   * @returns string[]
   */
  formatItemList(heading, items, helper) {
    if (items.length === 0) return [];
    return [helper.styleTitle(heading), ...items, ""];
  }
  /**
   * Group items by their help group heading.
   *
   * @param {Command[] | Option[]} unsortedItems
   * @param {Command[] | Option[]} visibleItems
   * @param {Function} getGroup
   * @returns {Map<string, Command[] | Option[]>}
   */
  groupItems(unsortedItems, visibleItems, getGroup) {
    const result = /* @__PURE__ */ new Map();
    unsortedItems.forEach((item) => {
      const group = getGroup(item);
      if (!result.has(group)) result.set(group, []);
    });
    visibleItems.forEach((item) => {
      const group = getGroup(item);
      if (!result.has(group)) {
        result.set(group, []);
      }
      result.get(group).push(item);
    });
    return result;
  }
  /**
   * Generate the built-in help text.
   *
   * @param {Command} cmd
   * @param {Help} helper
   * @returns {string}
   */
  formatHelp(cmd, helper) {
    const termWidth = helper.padWidth(cmd, helper);
    const helpWidth = helper.helpWidth ?? 80;
    function callFormatItem(term, description) {
      return helper.formatItem(term, termWidth, description, helper);
    }
    let output2 = [
      `${helper.styleTitle("Usage:")} ${helper.styleUsage(helper.commandUsage(cmd))}`,
      ""
    ];
    const commandDescription = helper.commandDescription(cmd);
    if (commandDescription.length > 0) {
      output2 = output2.concat([
        helper.boxWrap(
          helper.styleCommandDescription(commandDescription),
          helpWidth
        ),
        ""
      ]);
    }
    const argumentList = helper.visibleArguments(cmd).map((argument) => {
      return callFormatItem(
        helper.styleArgumentTerm(helper.argumentTerm(argument)),
        helper.styleArgumentDescription(helper.argumentDescription(argument))
      );
    });
    output2 = output2.concat(
      this.formatItemList("Arguments:", argumentList, helper)
    );
    const optionGroups = this.groupItems(
      cmd.options,
      helper.visibleOptions(cmd),
      (option) => option.helpGroupHeading ?? "Options:"
    );
    optionGroups.forEach((options, group) => {
      const optionList = options.map((option) => {
        return callFormatItem(
          helper.styleOptionTerm(helper.optionTerm(option)),
          helper.styleOptionDescription(helper.optionDescription(option))
        );
      });
      output2 = output2.concat(this.formatItemList(group, optionList, helper));
    });
    if (helper.showGlobalOptions) {
      const globalOptionList = helper.visibleGlobalOptions(cmd).map((option) => {
        return callFormatItem(
          helper.styleOptionTerm(helper.optionTerm(option)),
          helper.styleOptionDescription(helper.optionDescription(option))
        );
      });
      output2 = output2.concat(
        this.formatItemList("Global Options:", globalOptionList, helper)
      );
    }
    const commandGroups = this.groupItems(
      cmd.commands,
      helper.visibleCommands(cmd),
      (sub) => sub.helpGroup() || "Commands:"
    );
    commandGroups.forEach((commands, group) => {
      const commandList = commands.map((sub) => {
        return callFormatItem(
          helper.styleSubcommandTerm(helper.subcommandTerm(sub)),
          helper.styleSubcommandDescription(helper.subcommandDescription(sub))
        );
      });
      output2 = output2.concat(this.formatItemList(group, commandList, helper));
    });
    return output2.join("\n");
  }
  /**
   * Return display width of string, ignoring ANSI escape sequences. Used in padding and wrapping calculations.
   *
   * @param {string} str
   * @returns {number}
   */
  displayWidth(str2) {
    return stripVTControlCharacters(str2).length;
  }
  /**
   * Style the title for displaying in the help. Called with 'Usage:', 'Options:', etc.
   *
   * @param {string} str
   * @returns {string}
   */
  styleTitle(str2) {
    return str2;
  }
  styleUsage(str2) {
    return str2.split(" ").map((word) => {
      if (word === "[options]") return this.styleOptionText(word);
      if (word === "[command]") return this.styleSubcommandText(word);
      if (word[0] === "[" || word[0] === "<")
        return this.styleArgumentText(word);
      return this.styleCommandText(word);
    }).join(" ");
  }
  styleCommandDescription(str2) {
    return this.styleDescriptionText(str2);
  }
  styleOptionDescription(str2) {
    return this.styleDescriptionText(str2);
  }
  styleSubcommandDescription(str2) {
    return this.styleDescriptionText(str2);
  }
  styleArgumentDescription(str2) {
    return this.styleDescriptionText(str2);
  }
  styleDescriptionText(str2) {
    return str2;
  }
  styleOptionTerm(str2) {
    return this.styleOptionText(str2);
  }
  styleSubcommandTerm(str2) {
    return str2.split(" ").map((word) => {
      if (word === "[options]") return this.styleOptionText(word);
      if (word[0] === "[" || word[0] === "<")
        return this.styleArgumentText(word);
      return this.styleSubcommandText(word);
    }).join(" ");
  }
  styleArgumentTerm(str2) {
    return this.styleArgumentText(str2);
  }
  styleOptionText(str2) {
    return str2;
  }
  styleArgumentText(str2) {
    return str2;
  }
  styleSubcommandText(str2) {
    return str2;
  }
  styleCommandText(str2) {
    return str2;
  }
  /**
   * Calculate the pad width from the maximum term length.
   *
   * @param {Command} cmd
   * @param {Help} helper
   * @returns {number}
   */
  padWidth(cmd, helper) {
    return Math.max(
      helper.longestOptionTermLength(cmd, helper),
      helper.longestGlobalOptionTermLength(cmd, helper),
      helper.longestSubcommandTermLength(cmd, helper),
      helper.longestArgumentTermLength(cmd, helper)
    );
  }
  /**
   * Detect manually wrapped and indented strings by checking for line break followed by whitespace.
   *
   * @param {string} str
   * @returns {boolean}
   */
  preformatted(str2) {
    return /\n[^\S\r\n]/.test(str2);
  }
  /**
   * Format the "item", which consists of a term and description. Pad the term and wrap the description, indenting the following lines.
   *
   * So "TTT", 5, "DDD DDDD DD DDD" might be formatted for this.helpWidth=17 like so:
   *   TTT  DDD DDDD
   *        DD DDD
   *
   * @param {string} term
   * @param {number} termWidth
   * @param {string} description
   * @param {Help} helper
   * @returns {string}
   */
  formatItem(term, termWidth, description, helper) {
    const itemIndent = 2;
    const itemIndentStr = " ".repeat(itemIndent);
    if (!description) return itemIndentStr + term;
    const paddedTerm = term.padEnd(
      termWidth + term.length - helper.displayWidth(term)
    );
    const spacerWidth = 2;
    const helpWidth = this.helpWidth ?? 80;
    const remainingWidth = helpWidth - termWidth - spacerWidth - itemIndent;
    let formattedDescription;
    if (remainingWidth < this.minWidthToWrap || helper.preformatted(description)) {
      formattedDescription = description;
    } else {
      const wrappedDescription = helper.boxWrap(description, remainingWidth);
      formattedDescription = wrappedDescription.replace(
        /\n/g,
        "\n" + " ".repeat(termWidth + spacerWidth)
      );
    }
    return itemIndentStr + paddedTerm + " ".repeat(spacerWidth) + formattedDescription.replace(/\n/g, `
${itemIndentStr}`);
  }
  /**
   * Wrap a string at whitespace, preserving existing line breaks.
   * Wrapping is skipped if the width is less than `minWidthToWrap`.
   *
   * @param {string} str
   * @param {number} width
   * @returns {string}
   */
  boxWrap(str2, width) {
    if (width < this.minWidthToWrap) return str2;
    const rawLines = str2.split(/\r\n|\n/);
    const chunkPattern = /[\s]*[^\s]+/g;
    const wrappedLines = [];
    rawLines.forEach((line) => {
      const chunks = line.match(chunkPattern);
      if (chunks === null) {
        wrappedLines.push("");
        return;
      }
      let sumChunks = [chunks.shift()];
      let sumWidth = this.displayWidth(sumChunks[0]);
      chunks.forEach((chunk) => {
        const visibleWidth = this.displayWidth(chunk);
        if (sumWidth + visibleWidth <= width) {
          sumChunks.push(chunk);
          sumWidth += visibleWidth;
          return;
        }
        wrappedLines.push(sumChunks.join(""));
        const nextChunk = chunk.trimStart();
        sumChunks = [nextChunk];
        sumWidth = this.displayWidth(nextChunk);
      });
      wrappedLines.push(sumChunks.join(""));
    });
    return wrappedLines.join("\n");
  }
};

// node_modules/commander/lib/option.js
var Option = class {
  /**
   * Initialize a new `Option` with the given `flags` and `description`.
   *
   * @param {string} flags
   * @param {string} [description]
   */
  constructor(flags, description) {
    this.flags = flags;
    this.description = description || "";
    this.required = flags.includes("<");
    this.optional = flags.includes("[");
    this.variadic = new RegExp("\\p{ID_Continue}\\.\\.\\.[>\\]]$", "u").test(flags);
    this.mandatory = false;
    const optionFlags = splitOptionFlags(flags);
    this.short = optionFlags.shortFlag;
    this.long = optionFlags.longFlag;
    this.negate = false;
    if (this.long) {
      this.negate = this.long.startsWith("--no-");
    }
    this.defaultValue = void 0;
    this.defaultValueDescription = void 0;
    this.presetArg = void 0;
    this.envVar = void 0;
    this.parseArg = void 0;
    this.hidden = false;
    this.argChoices = void 0;
    this.conflictsWith = [];
    this.implied = void 0;
    this.helpGroupHeading = void 0;
  }
  /**
   * Set the default value, and optionally supply the description to be displayed in the help.
   *
   * @param {*} value
   * @param {string} [description]
   * @return {Option}
   */
  default(value, description) {
    this.defaultValue = value;
    this.defaultValueDescription = description;
    return this;
  }
  /**
   * Preset to use when option used without option-argument, especially optional but also boolean and negated.
   * The custom processing (parseArg) is called.
   *
   * @example
   * new Option('--color').default('GREYSCALE').preset('RGB');
   * new Option('--donate [amount]').preset('20').argParser(parseFloat);
   *
   * @param {*} arg
   * @return {Option}
   */
  preset(arg) {
    this.presetArg = arg;
    return this;
  }
  /**
   * Add option name(s) that conflict with this option.
   * An error will be displayed if conflicting options are found during parsing.
   *
   * @example
   * new Option('--rgb').conflicts('cmyk');
   * new Option('--js').conflicts(['ts', 'jsx']);
   *
   * @param {(string | string[])} names
   * @return {Option}
   */
  conflicts(names) {
    this.conflictsWith = this.conflictsWith.concat(names);
    return this;
  }
  /**
   * Specify implied option values for when this option is set and the implied options are not.
   *
   * The custom processing (parseArg) is not called on the implied values.
   *
   * @example
   * program
   *   .addOption(new Option('--log', 'write logging information to file'))
   *   .addOption(new Option('--trace', 'log extra details').implies({ log: 'trace.txt' }));
   *
   * @param {object} impliedOptionValues
   * @return {Option}
   */
  implies(impliedOptionValues) {
    let newImplied = impliedOptionValues;
    if (typeof impliedOptionValues === "string") {
      newImplied = { [impliedOptionValues]: true };
    }
    this.implied = Object.assign(this.implied || {}, newImplied);
    return this;
  }
  /**
   * Set environment variable to check for option value.
   *
   * An environment variable is only used if when processed the current option value is
   * undefined, or the source of the current value is 'default' or 'config' or 'env'.
   *
   * @param {string} name
   * @return {Option}
   */
  env(name) {
    this.envVar = name;
    return this;
  }
  /**
   * Set the custom handler for processing CLI option arguments into option values.
   *
   * @param {Function} [fn]
   * @return {Option}
   */
  argParser(fn) {
    this.parseArg = fn;
    return this;
  }
  /**
   * Whether the option is mandatory and must have a value after parsing.
   *
   * @param {boolean} [mandatory=true]
   * @return {Option}
   */
  makeOptionMandatory(mandatory = true) {
    this.mandatory = !!mandatory;
    return this;
  }
  /**
   * Hide option in help.
   *
   * @param {boolean} [hide=true]
   * @return {Option}
   */
  hideHelp(hide = true) {
    this.hidden = !!hide;
    return this;
  }
  /**
   * @package
   */
  _collectValue(value, previous) {
    if (previous === this.defaultValue || !Array.isArray(previous)) {
      return [value];
    }
    previous.push(value);
    return previous;
  }
  /**
   * Only allow option value to be one of choices.
   *
   * @param {string[]} values
   * @return {Option}
   */
  choices(values) {
    this.argChoices = values.slice();
    this.parseArg = (arg, previous) => {
      if (!this.argChoices.includes(arg)) {
        throw new InvalidArgumentError(
          `Allowed choices are ${this.argChoices.join(", ")}.`
        );
      }
      if (this.variadic) {
        return this._collectValue(arg, previous);
      }
      return arg;
    };
    return this;
  }
  /**
   * Return option name.
   *
   * @return {string}
   */
  name() {
    if (this.long) {
      return this.long.replace(/^--/, "");
    }
    return this.short.replace(/^-/, "");
  }
  /**
   * Return option name, in a camelcase format that can be used
   * as an object attribute key.
   *
   * @return {string}
   */
  attributeName() {
    if (this.negate) {
      return camelcase(this.name().replace(/^no-/, ""));
    }
    return camelcase(this.name());
  }
  /**
   * Set the help group heading.
   *
   * @param {string} heading
   * @return {Option}
   */
  helpGroup(heading) {
    this.helpGroupHeading = heading;
    return this;
  }
  /**
   * Check if `arg` matches the short or long flag.
   *
   * @param {string} arg
   * @return {boolean}
   * @package
   */
  is(arg) {
    return this.short === arg || this.long === arg;
  }
  /**
   * Return whether a boolean option.
   *
   * Options are one of boolean, negated, required argument, or optional argument.
   *
   * @return {boolean}
   * @package
   */
  isBoolean() {
    return !this.required && !this.optional && !this.negate;
  }
};
var DualOptions = class {
  /**
   * @param {Option[]} options
   */
  constructor(options) {
    this.positiveOptions = /* @__PURE__ */ new Map();
    this.negativeOptions = /* @__PURE__ */ new Map();
    this.dualOptions = /* @__PURE__ */ new Set();
    options.forEach((option) => {
      if (option.negate) {
        this.negativeOptions.set(option.attributeName(), option);
      } else {
        this.positiveOptions.set(option.attributeName(), option);
      }
    });
    this.negativeOptions.forEach((value, key) => {
      if (this.positiveOptions.has(key)) {
        this.dualOptions.add(key);
      }
    });
  }
  /**
   * Did the value come from the option, and not from possible matching dual option?
   *
   * @param {*} value
   * @param {Option} option
   * @returns {boolean}
   */
  valueFromOption(value, option) {
    const optionKey = option.attributeName();
    if (!this.dualOptions.has(optionKey)) return true;
    const preset = this.negativeOptions.get(optionKey).presetArg;
    const negativeValue = preset !== void 0 ? preset : false;
    return option.negate === (negativeValue === value);
  }
};
function camelcase(str2) {
  return str2.split("-").reduce((str3, word) => {
    return str3 + word[0].toUpperCase() + word.slice(1);
  });
}
function splitOptionFlags(flags) {
  let shortFlag;
  let longFlag;
  const shortFlagExp = /^-[^-]$/;
  const longFlagExp = /^--[^-]/;
  const flagParts = flags.split(/[ |,]+/).concat("guard");
  if (shortFlagExp.test(flagParts[0])) shortFlag = flagParts.shift();
  if (longFlagExp.test(flagParts[0])) longFlag = flagParts.shift();
  if (!shortFlag && shortFlagExp.test(flagParts[0]))
    shortFlag = flagParts.shift();
  if (!shortFlag && longFlagExp.test(flagParts[0])) {
    shortFlag = longFlag;
    longFlag = flagParts.shift();
  }
  if (flagParts[0].startsWith("-")) {
    const unsupportedFlag = flagParts[0];
    const baseError = `option creation failed due to '${unsupportedFlag}' in option flags '${flags}'`;
    if (/^-[^-][^-]/.test(unsupportedFlag))
      throw new Error(
        `${baseError}
- a short flag is a single dash and a single character
  - either use a single dash and a single character (for a short flag)
  - or use a double dash for a long option (and can have two, like '--ws, --workspace')`
      );
    if (shortFlagExp.test(unsupportedFlag))
      throw new Error(`${baseError}
- too many short flags`);
    if (longFlagExp.test(unsupportedFlag))
      throw new Error(`${baseError}
- too many long flags`);
    throw new Error(`${baseError}
- unrecognised flag format`);
  }
  if (shortFlag === void 0 && longFlag === void 0)
    throw new Error(
      `option creation failed due to no flags found in '${flags}'.`
    );
  return { shortFlag, longFlag };
}

// node_modules/commander/lib/suggestSimilar.js
var maxDistance = 3;
function editDistance(a2, b) {
  if (Math.abs(a2.length - b.length) > maxDistance)
    return Math.max(a2.length, b.length);
  const d = [];
  for (let i2 = 0; i2 <= a2.length; i2++) {
    d[i2] = [i2];
  }
  for (let j = 0; j <= b.length; j++) {
    d[0][j] = j;
  }
  for (let j = 1; j <= b.length; j++) {
    for (let i2 = 1; i2 <= a2.length; i2++) {
      let cost;
      if (a2[i2 - 1] === b[j - 1]) {
        cost = 0;
      } else {
        cost = 1;
      }
      d[i2][j] = Math.min(
        d[i2 - 1][j] + 1,
        // deletion
        d[i2][j - 1] + 1,
        // insertion
        d[i2 - 1][j - 1] + cost
        // substitution
      );
      if (i2 > 1 && j > 1 && a2[i2 - 1] === b[j - 2] && a2[i2 - 2] === b[j - 1]) {
        d[i2][j] = Math.min(d[i2][j], d[i2 - 2][j - 2] + 1);
      }
    }
  }
  return d[a2.length][b.length];
}
function suggestSimilar(word, candidates) {
  if (!candidates || candidates.length === 0) return "";
  candidates = Array.from(new Set(candidates));
  const searchingOptions = word.startsWith("--");
  if (searchingOptions) {
    word = word.slice(2);
    candidates = candidates.map((candidate) => candidate.slice(2));
  }
  let similar = [];
  let bestDistance = maxDistance;
  const minSimilarity = 0.4;
  candidates.forEach((candidate) => {
    if (candidate.length <= 1) return;
    const distance = editDistance(word, candidate);
    const length = Math.max(word.length, candidate.length);
    const similarity = (length - distance) / length;
    if (similarity > minSimilarity) {
      if (distance < bestDistance) {
        bestDistance = distance;
        similar = [candidate];
      } else if (distance === bestDistance) {
        similar.push(candidate);
      }
    }
  });
  similar.sort((a2, b) => a2.localeCompare(b));
  if (searchingOptions) {
    similar = similar.map((candidate) => `--${candidate}`);
  }
  if (similar.length > 1) {
    return `
(Did you mean one of ${similar.join(", ")}?)`;
  }
  if (similar.length === 1) {
    return `
(Did you mean ${similar[0]}?)`;
  }
  return "";
}

// node_modules/commander/lib/command.js
var Command = class _Command extends EventEmitter {
  /**
   * Initialize a new `Command`.
   *
   * @param {string} [name]
   */
  constructor(name) {
    super();
    this.commands = [];
    this.options = [];
    this.parent = null;
    this._allowUnknownOption = false;
    this._allowExcessArguments = false;
    this.registeredArguments = [];
    this._args = this.registeredArguments;
    this.args = [];
    this.rawArgs = [];
    this.processedArgs = [];
    this._scriptPath = null;
    this._name = name || "";
    this._optionValues = {};
    this._optionValueSources = {};
    this._storeOptionsAsProperties = false;
    this._actionHandler = null;
    this._executableHandler = false;
    this._executableFile = null;
    this._executableDir = null;
    this._defaultCommandName = null;
    this._exitCallback = null;
    this._aliases = [];
    this._combineFlagAndOptionalValue = true;
    this._description = "";
    this._summary = "";
    this._argsDescription = void 0;
    this._enablePositionalOptions = false;
    this._passThroughOptions = false;
    this._lifeCycleHooks = {};
    this._showHelpAfterError = false;
    this._showSuggestionAfterError = true;
    this._savedState = null;
    this._outputConfiguration = {
      writeOut: (str2) => process2.stdout.write(str2),
      writeErr: (str2) => process2.stderr.write(str2),
      outputError: (str2, write) => write(str2),
      getOutHelpWidth: () => process2.stdout.isTTY ? process2.stdout.columns : void 0,
      getErrHelpWidth: () => process2.stderr.isTTY ? process2.stderr.columns : void 0,
      getOutHasColors: () => useColor() ?? (process2.stdout.isTTY && process2.stdout.hasColors?.()),
      getErrHasColors: () => useColor() ?? (process2.stderr.isTTY && process2.stderr.hasColors?.()),
      stripColor: (str2) => stripVTControlCharacters2(str2)
    };
    this._hidden = false;
    this._helpOption = void 0;
    this._addImplicitHelpCommand = void 0;
    this._helpCommand = void 0;
    this._helpConfiguration = {};
    this._helpGroupHeading = void 0;
    this._defaultCommandGroup = void 0;
    this._defaultOptionGroup = void 0;
  }
  /**
   * Copy settings that are useful to have in common across root command and subcommands.
   *
   * (Used internally when adding a command using `.command()` so subcommands inherit parent settings.)
   *
   * @param {Command} sourceCommand
   * @return {Command} `this` command for chaining
   */
  copyInheritedSettings(sourceCommand) {
    this._outputConfiguration = sourceCommand._outputConfiguration;
    this._helpOption = sourceCommand._helpOption;
    this._helpCommand = sourceCommand._helpCommand;
    this._helpConfiguration = sourceCommand._helpConfiguration;
    this._exitCallback = sourceCommand._exitCallback;
    this._storeOptionsAsProperties = sourceCommand._storeOptionsAsProperties;
    this._combineFlagAndOptionalValue = sourceCommand._combineFlagAndOptionalValue;
    this._allowExcessArguments = sourceCommand._allowExcessArguments;
    this._enablePositionalOptions = sourceCommand._enablePositionalOptions;
    this._showHelpAfterError = sourceCommand._showHelpAfterError;
    this._showSuggestionAfterError = sourceCommand._showSuggestionAfterError;
    return this;
  }
  /**
   * @returns {Command[]}
   * @private
   */
  _getCommandAndAncestors() {
    const result = [];
    for (let command = this; command; command = command.parent) {
      result.push(command);
    }
    return result;
  }
  /**
   * Define a command.
   *
   * There are two styles of command: pay attention to where to put the description.
   *
   * @example
   * // Command implemented using action handler (description is supplied separately to `.command`)
   * program
   *   .command('clone <source> [destination]')
   *   .description('clone a repository into a newly created directory')
   *   .action((source, destination) => {
   *     console.log('clone command called');
   *   });
   *
   * // Command implemented using separate executable file (description is second parameter to `.command`)
   * program
   *   .command('start <service>', 'start named service')
   *   .command('stop [service]', 'stop named service, or all if no name supplied');
   *
   * @param {string} nameAndArgs - command name and arguments, args are `<required>` or `[optional]` and last may also be `variadic...`
   * @param {(object | string)} [actionOptsOrExecDesc] - configuration options (for action), or description (for executable)
   * @param {object} [execOpts] - configuration options (for executable)
   * @return {Command} returns new command for action handler, or `this` for executable command
   */
  command(nameAndArgs, actionOptsOrExecDesc, execOpts) {
    let desc = actionOptsOrExecDesc;
    let opts = execOpts;
    if (typeof desc === "object" && desc !== null) {
      opts = desc;
      desc = null;
    }
    opts = opts || {};
    const [, name, args] = nameAndArgs.match(/([^ ]+) *(.*)/);
    const cmd = this.createCommand(name);
    if (desc) {
      cmd.description(desc);
      cmd._executableHandler = true;
    }
    if (opts.isDefault) this._defaultCommandName = cmd._name;
    cmd._hidden = !!(opts.noHelp || opts.hidden);
    cmd._executableFile = opts.executableFile || null;
    if (args) cmd.arguments(args);
    this._registerCommand(cmd);
    cmd.parent = this;
    cmd.copyInheritedSettings(this);
    if (desc) return this;
    return cmd;
  }
  /**
   * Factory routine to create a new unattached command.
   *
   * See .command() for creating an attached subcommand, which uses this routine to
   * create the command. You can override createCommand to customise subcommands.
   *
   * @param {string} [name]
   * @return {Command} new command
   */
  createCommand(name) {
    return new _Command(name);
  }
  /**
   * You can customise the help with a subclass of Help by overriding createHelp,
   * or by overriding Help properties using configureHelp().
   *
   * @return {Help}
   */
  createHelp() {
    return Object.assign(new Help(), this.configureHelp());
  }
  /**
   * You can customise the help by overriding Help properties using configureHelp(),
   * or with a subclass of Help by overriding createHelp().
   *
   * @param {object} [configuration] - configuration options
   * @return {(Command | object)} `this` command for chaining, or stored configuration
   */
  configureHelp(configuration) {
    if (configuration === void 0) return this._helpConfiguration;
    this._helpConfiguration = configuration;
    return this;
  }
  /**
   * The default output goes to stdout and stderr. You can customise this for special
   * applications. You can also customise the display of errors by overriding outputError.
   *
   * The configuration properties are all functions:
   *
   *     // change how output being written, defaults to stdout and stderr
   *     writeOut(str)
   *     writeErr(str)
   *     // change how output being written for errors, defaults to writeErr
   *     outputError(str, write) // used for displaying errors and not used for displaying help
   *     // specify width for wrapping help
   *     getOutHelpWidth()
   *     getErrHelpWidth()
   *     // color support, currently only used with Help
   *     getOutHasColors()
   *     getErrHasColors()
   *     stripColor() // used to remove ANSI escape codes if output does not have colors
   *
   * @param {object} [configuration] - configuration options
   * @return {(Command | object)} `this` command for chaining, or stored configuration
   */
  configureOutput(configuration) {
    if (configuration === void 0) return this._outputConfiguration;
    this._outputConfiguration = {
      ...this._outputConfiguration,
      ...configuration
    };
    return this;
  }
  /**
   * Display the help or a custom message after an error occurs.
   *
   * @param {(boolean|string)} [displayHelp]
   * @return {Command} `this` command for chaining
   */
  showHelpAfterError(displayHelp = true) {
    if (typeof displayHelp !== "string") displayHelp = !!displayHelp;
    this._showHelpAfterError = displayHelp;
    return this;
  }
  /**
   * Display suggestion of similar commands for unknown commands, or options for unknown options.
   *
   * @param {boolean} [displaySuggestion]
   * @return {Command} `this` command for chaining
   */
  showSuggestionAfterError(displaySuggestion = true) {
    this._showSuggestionAfterError = !!displaySuggestion;
    return this;
  }
  /**
   * Add a prepared subcommand.
   *
   * See .command() for creating an attached subcommand which inherits settings from its parent.
   *
   * @param {Command} cmd - new subcommand
   * @param {object} [opts] - configuration options
   * @return {Command} `this` command for chaining
   */
  addCommand(cmd, opts) {
    if (!cmd._name) {
      throw new Error(`Command passed to .addCommand() must have a name
- specify the name in Command constructor or using .name()`);
    }
    opts = opts || {};
    if (opts.isDefault) this._defaultCommandName = cmd._name;
    if (opts.noHelp || opts.hidden) cmd._hidden = true;
    this._registerCommand(cmd);
    cmd.parent = this;
    cmd._checkForBrokenPassThrough();
    return this;
  }
  /**
   * Factory routine to create a new unattached argument.
   *
   * See .argument() for creating an attached argument, which uses this routine to
   * create the argument. You can override createArgument to return a custom argument.
   *
   * @param {string} name
   * @param {string} [description]
   * @return {Argument} new argument
   */
  createArgument(name, description) {
    return new Argument(name, description);
  }
  /**
   * Define argument syntax for command.
   *
   * The default is that the argument is required, and you can explicitly
   * indicate this with <> around the name. Put [] around the name for an optional argument.
   *
   * @example
   * program.argument('<input-file>');
   * program.argument('[output-file]');
   *
   * @param {string} name
   * @param {string} [description]
   * @param {(Function|*)} [parseArg] - custom argument processing function or default value
   * @param {*} [defaultValue]
   * @return {Command} `this` command for chaining
   */
  argument(name, description, parseArg, defaultValue) {
    const argument = this.createArgument(name, description);
    if (typeof parseArg === "function") {
      argument.default(defaultValue).argParser(parseArg);
    } else {
      argument.default(parseArg);
    }
    this.addArgument(argument);
    return this;
  }
  /**
   * Define argument syntax for command, adding multiple at once (without descriptions).
   *
   * See also .argument().
   *
   * @example
   * program.arguments('<cmd> [env]');
   *
   * @param {string} names
   * @return {Command} `this` command for chaining
   */
  arguments(names) {
    names.trim().split(/ +/).forEach((detail) => {
      this.argument(detail);
    });
    return this;
  }
  /**
   * Define argument syntax for command, adding a prepared argument.
   *
   * @param {Argument} argument
   * @return {Command} `this` command for chaining
   */
  addArgument(argument) {
    const previousArgument = this.registeredArguments.slice(-1)[0];
    if (previousArgument?.variadic) {
      throw new Error(
        `only the last argument can be variadic '${previousArgument.name()}'`
      );
    }
    if (argument.required && argument.defaultValue !== void 0 && argument.parseArg === void 0) {
      throw new Error(
        `a default value for a required argument is never used: '${argument.name()}'`
      );
    }
    this.registeredArguments.push(argument);
    return this;
  }
  /**
   * Customise or override default help command. By default a help command is automatically added if your command has subcommands.
   *
   * @example
   *    program.helpCommand('help [cmd]');
   *    program.helpCommand('help [cmd]', 'show help');
   *    program.helpCommand(false); // suppress default help command
   *    program.helpCommand(true); // add help command even if no subcommands
   *
   * @param {string|boolean} enableOrNameAndArgs - enable with custom name and/or arguments, or boolean to override whether added
   * @param {string} [description] - custom description
   * @return {Command} `this` command for chaining
   */
  helpCommand(enableOrNameAndArgs, description) {
    if (typeof enableOrNameAndArgs === "boolean") {
      this._addImplicitHelpCommand = enableOrNameAndArgs;
      if (enableOrNameAndArgs && this._defaultCommandGroup) {
        this._initCommandGroup(this._getHelpCommand());
      }
      return this;
    }
    const nameAndArgs = enableOrNameAndArgs ?? "help [command]";
    const [, helpName, helpArgs] = nameAndArgs.match(/([^ ]+) *(.*)/);
    const helpDescription = description ?? "display help for command";
    const helpCommand = this.createCommand(helpName);
    helpCommand.helpOption(false);
    if (helpArgs) helpCommand.arguments(helpArgs);
    if (helpDescription) helpCommand.description(helpDescription);
    this._addImplicitHelpCommand = true;
    this._helpCommand = helpCommand;
    if (enableOrNameAndArgs || description) this._initCommandGroup(helpCommand);
    return this;
  }
  /**
   * Add prepared custom help command.
   *
   * @param {(Command|string|boolean)} helpCommand - custom help command, or deprecated enableOrNameAndArgs as for `.helpCommand()`
   * @param {string} [deprecatedDescription] - deprecated custom description used with custom name only
   * @return {Command} `this` command for chaining
   */
  addHelpCommand(helpCommand, deprecatedDescription) {
    if (typeof helpCommand !== "object") {
      this.helpCommand(helpCommand, deprecatedDescription);
      return this;
    }
    this._addImplicitHelpCommand = true;
    this._helpCommand = helpCommand;
    this._initCommandGroup(helpCommand);
    return this;
  }
  /**
   * Lazy create help command.
   *
   * @return {(Command|null)}
   * @package
   */
  _getHelpCommand() {
    const hasImplicitHelpCommand = this._addImplicitHelpCommand ?? (this.commands.length && !this._actionHandler && !this._findCommand("help"));
    if (hasImplicitHelpCommand) {
      if (this._helpCommand === void 0) {
        this.helpCommand(void 0, void 0);
      }
      return this._helpCommand;
    }
    return null;
  }
  /**
   * Add hook for life cycle event.
   *
   * @param {string} event
   * @param {Function} listener
   * @return {Command} `this` command for chaining
   */
  hook(event, listener) {
    const allowedValues = ["preSubcommand", "preAction", "postAction"];
    if (!allowedValues.includes(event)) {
      throw new Error(`Unexpected value for event passed to hook : '${event}'.
Expecting one of '${allowedValues.join("', '")}'`);
    }
    if (this._lifeCycleHooks[event]) {
      this._lifeCycleHooks[event].push(listener);
    } else {
      this._lifeCycleHooks[event] = [listener];
    }
    return this;
  }
  /**
   * Register callback to use as replacement for calling process.exit.
   *
   * @param {Function} [fn] optional callback which will be passed a CommanderError, defaults to throwing
   * @return {Command} `this` command for chaining
   */
  exitOverride(fn) {
    if (fn) {
      this._exitCallback = fn;
    } else {
      this._exitCallback = (err) => {
        if (err.code !== "commander.executeSubCommandAsync") {
          throw err;
        } else {
        }
      };
    }
    return this;
  }
  /**
   * Call process.exit, and _exitCallback if defined.
   *
   * @param {number} exitCode exit code for using with process.exit
   * @param {string} code an id string representing the error
   * @param {string} message human-readable description of the error
   * @return never
   * @private
   */
  _exit(exitCode, code2, message) {
    if (this._exitCallback) {
      this._exitCallback(new CommanderError(exitCode, code2, message));
    }
    process2.exit(exitCode);
  }
  /**
   * Register callback `fn` for the command.
   *
   * @example
   * program
   *   .command('serve')
   *   .description('start service')
   *   .action(function() {
   *      // do work here
   *   });
   *
   * @param {Function} fn
   * @return {Command} `this` command for chaining
   */
  action(fn) {
    const listener = (args) => {
      const expectedArgsCount = this.registeredArguments.length;
      const actionArgs = args.slice(0, expectedArgsCount);
      if (this._storeOptionsAsProperties) {
        actionArgs[expectedArgsCount] = this;
      } else {
        actionArgs[expectedArgsCount] = this.opts();
      }
      actionArgs.push(this);
      return fn.apply(this, actionArgs);
    };
    this._actionHandler = listener;
    return this;
  }
  /**
   * Factory routine to create a new unattached option.
   *
   * See .option() for creating an attached option, which uses this routine to
   * create the option. You can override createOption to return a custom option.
   *
   * @param {string} flags
   * @param {string} [description]
   * @return {Option} new option
   */
  createOption(flags, description) {
    return new Option(flags, description);
  }
  /**
   * Wrap parseArgs to catch 'commander.invalidArgument'.
   *
   * @param {(Option | Argument)} target
   * @param {string} value
   * @param {*} previous
   * @param {string} invalidArgumentMessage
   * @private
   */
  _callParseArg(target, value, previous, invalidArgumentMessage) {
    try {
      return target.parseArg(value, previous);
    } catch (err) {
      if (err.code === "commander.invalidArgument") {
        const message = `${invalidArgumentMessage} ${err.message}`;
        this.error(message, { exitCode: err.exitCode, code: err.code });
      }
      throw err;
    }
  }
  /**
   * Check for option flag conflicts.
   * Register option if no conflicts found, or throw on conflict.
   *
   * @param {Option} option
   * @private
   */
  _registerOption(option) {
    const matchingOption = option.short && this._findOption(option.short) || option.long && this._findOption(option.long);
    if (matchingOption) {
      const matchingFlag = option.long && this._findOption(option.long) ? option.long : option.short;
      throw new Error(`Cannot add option '${option.flags}'${this._name && ` to command '${this._name}'`} due to conflicting flag '${matchingFlag}'
-  already used by option '${matchingOption.flags}'`);
    }
    this._initOptionGroup(option);
    this.options.push(option);
  }
  /**
   * Check for command name and alias conflicts with existing commands.
   * Register command if no conflicts found, or throw on conflict.
   *
   * @param {Command} command
   * @private
   */
  _registerCommand(command) {
    const knownBy = (cmd) => {
      return [cmd.name()].concat(cmd.aliases());
    };
    const alreadyUsed = knownBy(command).find(
      (name) => this._findCommand(name)
    );
    if (alreadyUsed) {
      const existingCmd = knownBy(this._findCommand(alreadyUsed)).join("|");
      const newCmd = knownBy(command).join("|");
      throw new Error(
        `cannot add command '${newCmd}' as already have command '${existingCmd}'`
      );
    }
    this._initCommandGroup(command);
    this.commands.push(command);
  }
  /**
   * Add an option.
   *
   * @param {Option} option
   * @return {Command} `this` command for chaining
   */
  addOption(option) {
    this._registerOption(option);
    const oname = option.name();
    const name = option.attributeName();
    if (option.defaultValue !== void 0) {
      this.setOptionValueWithSource(name, option.defaultValue, "default");
    }
    const handleOptionValue = (val, invalidValueMessage, valueSource) => {
      if (val == null && option.presetArg !== void 0) {
        val = option.presetArg;
      }
      const oldValue = this.getOptionValue(name);
      if (val !== null && option.parseArg) {
        val = this._callParseArg(option, val, oldValue, invalidValueMessage);
      } else if (val !== null && option.variadic) {
        val = option._collectValue(val, oldValue);
      }
      if (val == null) {
        if (option.negate) {
          val = false;
        } else if (option.isBoolean() || option.optional) {
          val = true;
        } else {
          val = "";
        }
      }
      this.setOptionValueWithSource(name, val, valueSource);
    };
    this.on("option:" + oname, (val) => {
      const invalidValueMessage = `error: option '${option.flags}' argument '${val}' is invalid.`;
      handleOptionValue(val, invalidValueMessage, "cli");
    });
    if (option.envVar) {
      this.on("optionEnv:" + oname, (val) => {
        const invalidValueMessage = `error: option '${option.flags}' value '${val}' from env '${option.envVar}' is invalid.`;
        handleOptionValue(val, invalidValueMessage, "env");
      });
    }
    return this;
  }
  /**
   * Internal implementation shared by .option() and .requiredOption()
   *
   * @return {Command} `this` command for chaining
   * @private
   */
  _optionEx(config, flags, description, fn, defaultValue) {
    if (typeof flags === "object" && flags instanceof Option) {
      throw new Error(
        "To add an Option object use addOption() instead of option() or requiredOption()"
      );
    }
    const option = this.createOption(flags, description);
    option.makeOptionMandatory(!!config.mandatory);
    if (typeof fn === "function") {
      option.default(defaultValue).argParser(fn);
    } else if (fn instanceof RegExp) {
      const regex2 = fn;
      fn = (val, def) => {
        const m = regex2.exec(val);
        return m ? m[0] : def;
      };
      option.default(defaultValue).argParser(fn);
    } else {
      option.default(fn);
    }
    return this.addOption(option);
  }
  /**
   * Define option with `flags`, `description`, and optional argument parsing function or `defaultValue` or both.
   *
   * The `flags` string contains the short and/or long flags, separated by comma, a pipe or space. A required
   * option-argument is indicated by `<>` and an optional option-argument by `[]`.
   *
   * See the README for more details, and see also addOption() and requiredOption().
   *
   * @example
   * program
   *     .option('-p, --pepper', 'add pepper')
   *     .option('--pt, --pizza-type <TYPE>', 'type of pizza') // required option-argument
   *     .option('-c, --cheese [CHEESE]', 'add extra cheese', 'mozzarella') // optional option-argument with default
   *     .option('-t, --tip <VALUE>', 'add tip to purchase cost', parseFloat) // custom parse function
   *
   * @param {string} flags
   * @param {string} [description]
   * @param {(Function|*)} [parseArg] - custom option processing function or default value
   * @param {*} [defaultValue]
   * @return {Command} `this` command for chaining
   */
  option(flags, description, parseArg, defaultValue) {
    return this._optionEx({}, flags, description, parseArg, defaultValue);
  }
  /**
   * Add a required option which must have a value after parsing. This usually means
   * the option must be specified on the command line. (Otherwise the same as .option().)
   *
   * The `flags` string contains the short and/or long flags, separated by comma, a pipe or space.
   *
   * @param {string} flags
   * @param {string} [description]
   * @param {(Function|*)} [parseArg] - custom option processing function or default value
   * @param {*} [defaultValue]
   * @return {Command} `this` command for chaining
   */
  requiredOption(flags, description, parseArg, defaultValue) {
    return this._optionEx(
      { mandatory: true },
      flags,
      description,
      parseArg,
      defaultValue
    );
  }
  /**
   * Alter parsing of short flags with optional values.
   *
   * @example
   * // for `.option('-f,--flag [value]'):
   * program.combineFlagAndOptionalValue(true);  // `-f80` is treated like `--flag=80`, this is the default behaviour
   * program.combineFlagAndOptionalValue(false) // `-fb` is treated like `-f -b`
   *
   * @param {boolean} [combine] - if `true` or omitted, an optional value can be specified directly after the flag.
   * @return {Command} `this` command for chaining
   */
  combineFlagAndOptionalValue(combine = true) {
    this._combineFlagAndOptionalValue = !!combine;
    return this;
  }
  /**
   * Allow unknown options on the command line.
   *
   * @param {boolean} [allowUnknown] - if `true` or omitted, no error will be thrown for unknown options.
   * @return {Command} `this` command for chaining
   */
  allowUnknownOption(allowUnknown = true) {
    this._allowUnknownOption = !!allowUnknown;
    return this;
  }
  /**
   * Allow excess command-arguments on the command line. Pass false to make excess arguments an error.
   *
   * @param {boolean} [allowExcess] - if `true` or omitted, no error will be thrown for excess arguments.
   * @return {Command} `this` command for chaining
   */
  allowExcessArguments(allowExcess = true) {
    this._allowExcessArguments = !!allowExcess;
    return this;
  }
  /**
   * Enable positional options. Positional means global options are specified before subcommands which lets
   * subcommands reuse the same option names, and also enables subcommands to turn on passThroughOptions.
   * The default behaviour is non-positional and global options may appear anywhere on the command line.
   *
   * @param {boolean} [positional]
   * @return {Command} `this` command for chaining
   */
  enablePositionalOptions(positional = true) {
    this._enablePositionalOptions = !!positional;
    return this;
  }
  /**
   * Pass through options that come after command-arguments rather than treat them as command-options,
   * so actual command-options come before command-arguments. Turning this on for a subcommand requires
   * positional options to have been enabled on the program (parent commands).
   * The default behaviour is non-positional and options may appear before or after command-arguments.
   *
   * @param {boolean} [passThrough] for unknown options.
   * @return {Command} `this` command for chaining
   */
  passThroughOptions(passThrough = true) {
    this._passThroughOptions = !!passThrough;
    this._checkForBrokenPassThrough();
    return this;
  }
  /**
   * @private
   */
  _checkForBrokenPassThrough() {
    if (this.parent && this._passThroughOptions && !this.parent._enablePositionalOptions) {
      throw new Error(
        `passThroughOptions cannot be used for '${this._name}' without turning on enablePositionalOptions for parent command(s)`
      );
    }
  }
  /**
   * Whether to store option values as properties on command object,
   * or store separately (specify false). In both cases the option values can be accessed using .opts().
   *
   * @param {boolean} [storeAsProperties=true]
   * @return {Command} `this` command for chaining
   */
  storeOptionsAsProperties(storeAsProperties = true) {
    if (this.options.length) {
      throw new Error("call .storeOptionsAsProperties() before adding options");
    }
    if (Object.keys(this._optionValues).length) {
      throw new Error(
        "call .storeOptionsAsProperties() before setting option values"
      );
    }
    this._storeOptionsAsProperties = !!storeAsProperties;
    return this;
  }
  /**
   * Retrieve option value.
   *
   * @param {string} key
   * @return {object} value
   */
  getOptionValue(key) {
    if (this._storeOptionsAsProperties) {
      return this[key];
    }
    return this._optionValues[key];
  }
  /**
   * Store option value.
   *
   * @param {string} key
   * @param {object} value
   * @return {Command} `this` command for chaining
   */
  setOptionValue(key, value) {
    return this.setOptionValueWithSource(key, value, void 0);
  }
  /**
   * Store option value and where the value came from.
   *
   * @param {string} key
   * @param {object} value
   * @param {string} source - expected values are default/config/env/cli/implied
   * @return {Command} `this` command for chaining
   */
  setOptionValueWithSource(key, value, source2) {
    if (this._storeOptionsAsProperties) {
      this[key] = value;
    } else {
      this._optionValues[key] = value;
    }
    this._optionValueSources[key] = source2;
    return this;
  }
  /**
   * Get source of option value.
   * Expected values are default | config | env | cli | implied
   *
   * @param {string} key
   * @return {string}
   */
  getOptionValueSource(key) {
    return this._optionValueSources[key];
  }
  /**
   * Get source of option value. See also .optsWithGlobals().
   * Expected values are default | config | env | cli | implied
   *
   * @param {string} key
   * @return {string}
   */
  getOptionValueSourceWithGlobals(key) {
    let source2;
    this._getCommandAndAncestors().forEach((cmd) => {
      if (Object.hasOwn(cmd._optionValueSources, key)) {
        source2 = cmd.getOptionValueSource(key);
      }
    });
    return source2;
  }
  /**
   * Get user arguments from implied or explicit arguments.
   * Side-effects: set _scriptPath if args included script. Used for default program name, and subcommand searches.
   *
   * @private
   */
  _prepareUserArgs(argv, parseOptions) {
    if (argv !== void 0 && !Array.isArray(argv)) {
      throw new Error("first parameter to parse must be array or undefined");
    }
    parseOptions = parseOptions || {};
    if (argv === void 0 && parseOptions.from === void 0) {
      if (process2.versions?.electron) {
        parseOptions.from = "electron";
      }
      const execArgv2 = process2.execArgv ?? [];
      if (execArgv2.includes("-e") || execArgv2.includes("--eval") || execArgv2.includes("-p") || execArgv2.includes("--print")) {
        parseOptions.from = "eval";
      }
    }
    if (argv === void 0) {
      argv = process2.argv;
    }
    this.rawArgs = argv.slice();
    let userArgs;
    switch (parseOptions.from) {
      case void 0:
      case "node":
        this._scriptPath = argv[1];
        userArgs = argv.slice(2);
        break;
      case "electron":
        if (process2.defaultApp) {
          this._scriptPath = argv[1];
          userArgs = argv.slice(2);
        } else {
          userArgs = argv.slice(1);
        }
        break;
      case "user":
        userArgs = argv.slice(0);
        break;
      case "eval":
        userArgs = argv.slice(1);
        break;
      default:
        throw new Error(
          `unexpected parse option { from: '${parseOptions.from}' }`
        );
    }
    if (!this._name && this._scriptPath)
      this.nameFromFilename(this._scriptPath);
    this._name = this._name || "program";
    return userArgs;
  }
  /**
   * Parse `argv`, setting options and invoking commands when defined.
   *
   * Use parseAsync instead of parse if any of your action handlers are async.
   *
   * Call with no parameters to parse `process.argv`. Detects Electron and special node options like `node --eval`. Easy mode!
   *
   * Or call with an array of strings to parse, and optionally where the user arguments start by specifying where the arguments are `from`:
   * - `'node'`: default, `argv[0]` is the application and `argv[1]` is the script being run, with user arguments after that
   * - `'electron'`: `argv[0]` is the application and `argv[1]` varies depending on whether the electron application is packaged
   * - `'user'`: just user arguments
   *
   * @example
   * program.parse(); // parse process.argv and auto-detect electron and special node flags
   * program.parse(process.argv); // assume argv[0] is app and argv[1] is script
   * program.parse(my-args, { from: 'user' }); // just user supplied arguments, nothing special about argv[0]
   *
   * @param {string[]} [argv] - optional, defaults to process.argv
   * @param {object} [parseOptions] - optionally specify style of options with from: node/user/electron
   * @param {string} [parseOptions.from] - where the args are from: 'node', 'user', 'electron'
   * @return {Command} `this` command for chaining
   */
  parse(argv, parseOptions) {
    this._prepareForParse();
    const userArgs = this._prepareUserArgs(argv, parseOptions);
    this._parseCommand([], userArgs);
    return this;
  }
  /**
   * Parse `argv`, setting options and invoking commands when defined.
   *
   * Call with no parameters to parse `process.argv`. Detects Electron and special node options like `node --eval`. Easy mode!
   *
   * Or call with an array of strings to parse, and optionally where the user arguments start by specifying where the arguments are `from`:
   * - `'node'`: default, `argv[0]` is the application and `argv[1]` is the script being run, with user arguments after that
   * - `'electron'`: `argv[0]` is the application and `argv[1]` varies depending on whether the electron application is packaged
   * - `'user'`: just user arguments
   *
   * @example
   * await program.parseAsync(); // parse process.argv and auto-detect electron and special node flags
   * await program.parseAsync(process.argv); // assume argv[0] is app and argv[1] is script
   * await program.parseAsync(my-args, { from: 'user' }); // just user supplied arguments, nothing special about argv[0]
   *
   * @param {string[]} [argv]
   * @param {object} [parseOptions]
   * @param {string} parseOptions.from - where the args are from: 'node', 'user', 'electron'
   * @return {Promise}
   */
  async parseAsync(argv, parseOptions) {
    this._prepareForParse();
    const userArgs = this._prepareUserArgs(argv, parseOptions);
    await this._parseCommand([], userArgs);
    return this;
  }
  _prepareForParse() {
    if (this._savedState === null) {
      this.options.filter(
        (option) => option.negate && option.defaultValue === void 0 && this.getOptionValue(option.attributeName()) === void 0
      ).forEach((option) => {
        const positiveLongFlag = option.long.replace(/^--no-/, "--");
        if (!this._findOption(positiveLongFlag)) {
          this.setOptionValueWithSource(
            option.attributeName(),
            true,
            "default"
          );
        }
      });
      this.saveStateBeforeParse();
    } else {
      this.restoreStateBeforeParse();
    }
  }
  /**
   * Called the first time parse is called to save state and allow a restore before subsequent calls to parse.
   * Not usually called directly, but available for subclasses to save their custom state.
   *
   * This is called in a lazy way. Only commands used in parsing chain will have state saved.
   */
  saveStateBeforeParse() {
    this._savedState = {
      // name is stable if supplied by author, but may be unspecified for root command and deduced during parsing
      _name: this._name,
      // option values before parse have default values (including false for negated options)
      // shallow clones
      _optionValues: { ...this._optionValues },
      _optionValueSources: { ...this._optionValueSources }
    };
  }
  /**
   * Restore state before parse for calls after the first.
   * Not usually called directly, but available for subclasses to save their custom state.
   *
   * This is called in a lazy way. Only commands used in parsing chain will have state restored.
   */
  restoreStateBeforeParse() {
    if (this._storeOptionsAsProperties)
      throw new Error(`Can not call parse again when storeOptionsAsProperties is true.
- either make a new Command for each call to parse, or stop storing options as properties`);
    this._name = this._savedState._name;
    this._scriptPath = null;
    this.rawArgs = [];
    this._optionValues = { ...this._savedState._optionValues };
    this._optionValueSources = { ...this._savedState._optionValueSources };
    this.args = [];
    this.processedArgs = [];
  }
  /**
   * Throw if expected executable is missing. Add lots of help for author.
   *
   * @param {string} executableFile
   * @param {string} executableDir
   * @param {string} subcommandName
   */
  _checkForMissingExecutable(executableFile, executableDir, subcommandName) {
    if (fs.existsSync(executableFile)) return;
    const executableDirMessage = executableDir ? `searched for local subcommand relative to directory '${executableDir}'` : "no directory for search for local subcommand, use .executableDir() to supply a custom directory";
    const executableMissing = `'${executableFile}' does not exist
 - if '${subcommandName}' is not meant to be an executable command, remove description parameter from '.command()' and use '.description()' instead
 - if the default executable name is not suitable, use the executableFile option to supply a custom name or path
 - ${executableDirMessage}`;
    throw new Error(executableMissing);
  }
  /**
   * Execute a sub-command executable.
   *
   * @private
   */
  _executeSubCommand(subcommand, args) {
    args = args.slice();
    const sourceExt = [".js", ".ts", ".tsx", ".mjs", ".cjs"];
    function findFile(baseDir, baseName) {
      const localBin = path3.resolve(baseDir, baseName);
      if (fs.existsSync(localBin)) return localBin;
      if (sourceExt.includes(path3.extname(baseName))) return void 0;
      const foundExt = sourceExt.find(
        (ext) => fs.existsSync(`${localBin}${ext}`)
      );
      if (foundExt) return `${localBin}${foundExt}`;
      return void 0;
    }
    this._checkForMissingMandatoryOptions();
    this._checkForConflictingOptions();
    let executableFile = subcommand._executableFile || `${this._name}-${subcommand._name}`;
    let executableDir = this._executableDir || "";
    if (this._scriptPath) {
      let resolvedScriptPath;
      try {
        resolvedScriptPath = fs.realpathSync(this._scriptPath);
      } catch {
        resolvedScriptPath = this._scriptPath;
      }
      executableDir = path3.resolve(
        path3.dirname(resolvedScriptPath),
        executableDir
      );
    }
    if (executableDir) {
      let localFile = findFile(executableDir, executableFile);
      if (!localFile && !subcommand._executableFile && this._scriptPath) {
        const legacyName = path3.basename(
          this._scriptPath,
          path3.extname(this._scriptPath)
        );
        if (legacyName !== this._name) {
          localFile = findFile(
            executableDir,
            `${legacyName}-${subcommand._name}`
          );
        }
      }
      executableFile = localFile || executableFile;
    }
    const launchWithNode = sourceExt.includes(path3.extname(executableFile));
    let proc;
    if (process2.platform !== "win32") {
      if (launchWithNode) {
        args.unshift(executableFile);
        args = incrementNodeInspectorPort(process2.execArgv).concat(args);
        proc = childProcess.spawn(process2.argv[0], args, { stdio: "inherit" });
      } else {
        proc = childProcess.spawn(executableFile, args, { stdio: "inherit" });
      }
    } else {
      this._checkForMissingExecutable(
        executableFile,
        executableDir,
        subcommand._name
      );
      args.unshift(executableFile);
      args = incrementNodeInspectorPort(process2.execArgv).concat(args);
      proc = childProcess.spawn(process2.execPath, args, { stdio: "inherit" });
    }
    if (!proc.killed) {
      const signals2 = ["SIGUSR1", "SIGUSR2", "SIGTERM", "SIGINT", "SIGHUP"];
      signals2.forEach((signal) => {
        process2.on(signal, () => {
          if (proc.killed === false && proc.exitCode === null) {
            proc.kill(signal);
          }
        });
      });
    }
    const exitCallback = this._exitCallback;
    proc.on("close", (code2) => {
      code2 = code2 ?? 1;
      if (!exitCallback) {
        process2.exit(code2);
      } else {
        exitCallback(
          new CommanderError(
            code2,
            "commander.executeSubCommandAsync",
            "(close)"
          )
        );
      }
    });
    proc.on("error", (err) => {
      if (err.code === "ENOENT") {
        this._checkForMissingExecutable(
          executableFile,
          executableDir,
          subcommand._name
        );
      } else if (err.code === "EACCES") {
        throw new Error(`'${executableFile}' not executable`);
      }
      if (!exitCallback) {
        process2.exit(1);
      } else {
        const wrappedError = new CommanderError(
          1,
          "commander.executeSubCommandAsync",
          "(error)"
        );
        wrappedError.nestedError = err;
        exitCallback(wrappedError);
      }
    });
    this.runningCommand = proc;
  }
  /**
   * @private
   */
  _dispatchSubcommand(commandName, operands, unknown) {
    const subCommand = this._findCommand(commandName);
    if (!subCommand) this.help({ error: true });
    subCommand._prepareForParse();
    let promiseChain;
    promiseChain = this._chainOrCallSubCommandHook(
      promiseChain,
      subCommand,
      "preSubcommand"
    );
    promiseChain = this._chainOrCall(promiseChain, () => {
      if (subCommand._executableHandler) {
        this._executeSubCommand(subCommand, operands.concat(unknown));
      } else {
        return subCommand._parseCommand(operands, unknown);
      }
    });
    return promiseChain;
  }
  /**
   * Invoke help directly if possible, or dispatch if necessary.
   * e.g. help foo
   *
   * @private
   */
  _dispatchHelpCommand(subcommandName) {
    if (!subcommandName) {
      this.help();
    }
    const subCommand = this._findCommand(subcommandName);
    if (subCommand && !subCommand._executableHandler) {
      subCommand.help();
    }
    return this._dispatchSubcommand(
      subcommandName,
      [],
      [this._getHelpOption()?.long ?? this._getHelpOption()?.short ?? "--help"]
    );
  }
  /**
   * Check this.args against expected this.registeredArguments.
   *
   * @private
   */
  _checkNumberOfArguments() {
    this.registeredArguments.forEach((arg, i2) => {
      if (arg.required && this.args[i2] == null) {
        this.missingArgument(arg.name());
      }
    });
    if (this.registeredArguments.length > 0 && this.registeredArguments[this.registeredArguments.length - 1].variadic) {
      return;
    }
    if (this.args.length > this.registeredArguments.length) {
      this._excessArguments(this.args);
    }
  }
  /**
   * Process this.args using this.registeredArguments and save as this.processedArgs!
   *
   * @private
   */
  _processArguments() {
    const myParseArg = (argument, value, previous) => {
      let parsedValue = value;
      if (value !== null && argument.parseArg) {
        const invalidValueMessage = `error: command-argument value '${value}' is invalid for argument '${argument.name()}'.`;
        parsedValue = this._callParseArg(
          argument,
          value,
          previous,
          invalidValueMessage
        );
      }
      return parsedValue;
    };
    this._checkNumberOfArguments();
    const processedArgs = [];
    this.registeredArguments.forEach((declaredArg, index) => {
      let value = declaredArg.defaultValue;
      if (declaredArg.variadic) {
        if (index < this.args.length) {
          value = this.args.slice(index);
          if (declaredArg.parseArg) {
            value = value.reduce((processed, v) => {
              return myParseArg(declaredArg, v, processed);
            }, declaredArg.defaultValue);
          }
        } else if (value === void 0) {
          value = [];
        }
      } else if (index < this.args.length) {
        value = this.args[index];
        if (declaredArg.parseArg) {
          value = myParseArg(declaredArg, value, declaredArg.defaultValue);
        }
      }
      processedArgs[index] = value;
    });
    this.processedArgs = processedArgs;
  }
  /**
   * Once we have a promise we chain, but call synchronously until then.
   *
   * @param {(Promise|undefined)} promise
   * @param {Function} fn
   * @return {(Promise|undefined)}
   * @private
   */
  _chainOrCall(promise, fn) {
    if (promise?.then && typeof promise.then === "function") {
      return promise.then(() => fn());
    }
    return fn();
  }
  /**
   *
   * @param {(Promise|undefined)} promise
   * @param {string} event
   * @return {(Promise|undefined)}
   * @private
   */
  _chainOrCallHooks(promise, event) {
    let result = promise;
    const hooks = [];
    this._getCommandAndAncestors().reverse().filter((cmd) => cmd._lifeCycleHooks[event] !== void 0).forEach((hookedCommand) => {
      hookedCommand._lifeCycleHooks[event].forEach((callback) => {
        hooks.push({ hookedCommand, callback });
      });
    });
    if (event === "postAction") {
      hooks.reverse();
    }
    hooks.forEach((hookDetail) => {
      result = this._chainOrCall(result, () => {
        return hookDetail.callback(hookDetail.hookedCommand, this);
      });
    });
    return result;
  }
  /**
   *
   * @param {(Promise|undefined)} promise
   * @param {Command} subCommand
   * @param {string} event
   * @return {(Promise|undefined)}
   * @private
   */
  _chainOrCallSubCommandHook(promise, subCommand, event) {
    let result = promise;
    if (this._lifeCycleHooks[event] !== void 0) {
      this._lifeCycleHooks[event].forEach((hook) => {
        result = this._chainOrCall(result, () => {
          return hook(this, subCommand);
        });
      });
    }
    return result;
  }
  /**
   * Process arguments in context of this command.
   * Returns action result, in case it is a promise.
   *
   * @private
   */
  _parseCommand(operands, unknown) {
    const parsed = this.parseOptions(unknown);
    this._parseOptionsEnv();
    this._parseOptionsImplied();
    operands = operands.concat(parsed.operands);
    unknown = parsed.unknown;
    this.args = operands.concat(unknown);
    if (operands && this._findCommand(operands[0])) {
      return this._dispatchSubcommand(operands[0], operands.slice(1), unknown);
    }
    if (this._getHelpCommand() && operands[0] === this._getHelpCommand().name()) {
      return this._dispatchHelpCommand(operands[1]);
    }
    if (this._defaultCommandName) {
      this._outputHelpIfRequested(unknown);
      return this._dispatchSubcommand(
        this._defaultCommandName,
        operands,
        unknown
      );
    }
    if (this.commands.length && this.args.length === 0 && !this._actionHandler && !this._defaultCommandName) {
      this.help({ error: true });
    }
    this._outputHelpIfRequested(parsed.unknown);
    this._checkForMissingMandatoryOptions();
    this._checkForConflictingOptions();
    const checkForUnknownOptions = () => {
      if (parsed.unknown.length > 0) {
        this.unknownOption(parsed.unknown[0]);
      }
    };
    const commandEvent = `command:${this.name()}`;
    if (this._actionHandler) {
      checkForUnknownOptions();
      this._processArguments();
      let promiseChain;
      promiseChain = this._chainOrCallHooks(promiseChain, "preAction");
      promiseChain = this._chainOrCall(
        promiseChain,
        () => this._actionHandler(this.processedArgs)
      );
      if (this.parent) {
        promiseChain = this._chainOrCall(promiseChain, () => {
          this.parent.emit(commandEvent, operands, unknown);
        });
      }
      promiseChain = this._chainOrCallHooks(promiseChain, "postAction");
      return promiseChain;
    }
    if (this.parent?.listenerCount(commandEvent)) {
      checkForUnknownOptions();
      this._processArguments();
      this.parent.emit(commandEvent, operands, unknown);
    } else if (operands.length) {
      if (this._findCommand("*")) {
        return this._dispatchSubcommand("*", operands, unknown);
      }
      if (this.listenerCount("command:*")) {
        this.emit("command:*", operands, unknown);
      } else if (this.commands.length) {
        this.unknownCommand();
      } else {
        checkForUnknownOptions();
        this._processArguments();
      }
    } else if (this.commands.length) {
      checkForUnknownOptions();
      this.help({ error: true });
    } else {
      checkForUnknownOptions();
      this._processArguments();
    }
  }
  /**
   * Find matching command.
   *
   * @private
   * @return {Command | undefined}
   */
  _findCommand(name) {
    if (!name) return void 0;
    return this.commands.find(
      (cmd) => cmd._name === name || cmd._aliases.includes(name)
    );
  }
  /**
   * Return an option matching `arg` if any.
   *
   * @param {string} arg
   * @return {Option}
   * @package
   */
  _findOption(arg) {
    return this.options.find((option) => option.is(arg));
  }
  /**
   * Display an error message if a mandatory option does not have a value.
   * Called after checking for help flags in leaf subcommand.
   *
   * @private
   */
  _checkForMissingMandatoryOptions() {
    this._getCommandAndAncestors().forEach((cmd) => {
      cmd.options.forEach((anOption) => {
        if (anOption.mandatory && cmd.getOptionValue(anOption.attributeName()) === void 0) {
          cmd.missingMandatoryOptionValue(anOption);
        }
      });
    });
  }
  /**
   * Display an error message if conflicting options are used together in this.
   *
   * @private
   */
  _checkForConflictingLocalOptions() {
    const definedNonDefaultOptions = this.options.filter((option) => {
      const optionKey = option.attributeName();
      if (this.getOptionValue(optionKey) === void 0) {
        return false;
      }
      return this.getOptionValueSource(optionKey) !== "default";
    });
    const optionsWithConflicting = definedNonDefaultOptions.filter(
      (option) => option.conflictsWith.length > 0
    );
    optionsWithConflicting.forEach((option) => {
      const conflictingAndDefined = definedNonDefaultOptions.find(
        (defined) => option.conflictsWith.includes(defined.attributeName())
      );
      if (conflictingAndDefined) {
        this._conflictingOption(option, conflictingAndDefined);
      }
    });
  }
  /**
   * Display an error message if conflicting options are used together.
   * Called after checking for help flags in leaf subcommand.
   *
   * @private
   */
  _checkForConflictingOptions() {
    this._getCommandAndAncestors().forEach((cmd) => {
      cmd._checkForConflictingLocalOptions();
    });
  }
  /**
   * Parse options from `argv` removing known options,
   * and return argv split into operands and unknown arguments.
   *
   * Side effects: modifies command by storing options. Does not reset state if called again.
   *
   * Examples:
   *
   *     argv => operands, unknown
   *     --known kkk op => [op], []
   *     op --known kkk => [op], []
   *     sub --unknown uuu op => [sub], [--unknown uuu op]
   *     sub -- --unknown uuu op => [sub --unknown uuu op], []
   *
   * @param {string[]} args
   * @return {{operands: string[], unknown: string[]}}
   */
  parseOptions(args) {
    const operands = [];
    const unknown = [];
    let dest = operands;
    function maybeOption(arg) {
      return arg.length > 1 && arg[0] === "-";
    }
    const negativeNumberArg = (arg) => {
      if (!/^-(\d+|\d*\.\d+)([eE][+-]?\d+)?$/.test(arg)) return false;
      return !this._getCommandAndAncestors().some(
        (cmd) => cmd.options.map((opt) => opt.short).some((short) => /^-\d$/.test(short))
      );
    };
    let activeVariadicOption = null;
    let activeGroup = null;
    let i2 = 0;
    while (i2 < args.length || activeGroup) {
      const arg = activeGroup ?? args[i2++];
      activeGroup = null;
      if (arg === "--") {
        if (dest === unknown) dest.push(arg);
        dest.push(...args.slice(i2));
        break;
      }
      if (activeVariadicOption && (!maybeOption(arg) || negativeNumberArg(arg))) {
        this.emit(`option:${activeVariadicOption.name()}`, arg);
        continue;
      }
      activeVariadicOption = null;
      if (maybeOption(arg)) {
        const option = this._findOption(arg);
        if (option) {
          if (option.required) {
            const value = args[i2++];
            if (value === void 0) this.optionMissingArgument(option);
            this.emit(`option:${option.name()}`, value);
          } else if (option.optional) {
            let value = null;
            if (i2 < args.length && (!maybeOption(args[i2]) || negativeNumberArg(args[i2]))) {
              value = args[i2++];
            }
            this.emit(`option:${option.name()}`, value);
          } else {
            this.emit(`option:${option.name()}`);
          }
          activeVariadicOption = option.variadic ? option : null;
          continue;
        }
      }
      if (arg.length > 2 && arg[0] === "-" && arg[1] !== "-") {
        const option = this._findOption(`-${arg[1]}`);
        if (option) {
          if (option.required || option.optional && this._combineFlagAndOptionalValue) {
            this.emit(`option:${option.name()}`, arg.slice(2));
          } else {
            this.emit(`option:${option.name()}`);
            activeGroup = `-${arg.slice(2)}`;
          }
          continue;
        }
      }
      if (/^--[^=]+=/.test(arg)) {
        const index = arg.indexOf("=");
        const option = this._findOption(arg.slice(0, index));
        if (option && (option.required || option.optional)) {
          this.emit(`option:${option.name()}`, arg.slice(index + 1));
          continue;
        }
      }
      if (dest === operands && maybeOption(arg) && !(this.commands.length === 0 && negativeNumberArg(arg))) {
        dest = unknown;
      }
      if ((this._enablePositionalOptions || this._passThroughOptions) && operands.length === 0 && unknown.length === 0) {
        if (this._findCommand(arg)) {
          operands.push(arg);
          unknown.push(...args.slice(i2));
          break;
        } else if (this._getHelpCommand() && arg === this._getHelpCommand().name()) {
          operands.push(arg, ...args.slice(i2));
          break;
        } else if (this._defaultCommandName) {
          unknown.push(arg, ...args.slice(i2));
          break;
        }
      }
      if (this._passThroughOptions) {
        dest.push(arg, ...args.slice(i2));
        break;
      }
      dest.push(arg);
    }
    return { operands, unknown };
  }
  /**
   * Return an object containing local option values as key-value pairs.
   *
   * @return {object}
   */
  opts() {
    if (this._storeOptionsAsProperties) {
      const result = {};
      const len = this.options.length;
      for (let i2 = 0; i2 < len; i2++) {
        const key = this.options[i2].attributeName();
        result[key] = key === this._versionOptionName ? this._version : this[key];
      }
      return result;
    }
    return this._optionValues;
  }
  /**
   * Return an object containing merged local and global option values as key-value pairs.
   *
   * @return {object}
   */
  optsWithGlobals() {
    return this._getCommandAndAncestors().reduce(
      (combinedOptions, cmd) => Object.assign(combinedOptions, cmd.opts()),
      {}
    );
  }
  /**
   * Display error message and exit (or call exitOverride).
   *
   * @param {string} message
   * @param {object} [errorOptions]
   * @param {string} [errorOptions.code] - an id string representing the error
   * @param {number} [errorOptions.exitCode] - used with process.exit
   */
  error(message, errorOptions) {
    this._outputConfiguration.outputError(
      `${message}
`,
      this._outputConfiguration.writeErr
    );
    if (typeof this._showHelpAfterError === "string") {
      this._outputConfiguration.writeErr(`${this._showHelpAfterError}
`);
    } else if (this._showHelpAfterError) {
      this._outputConfiguration.writeErr("\n");
      this.outputHelp({ error: true });
    }
    const config = errorOptions || {};
    const exitCode = config.exitCode || 1;
    const code2 = config.code || "commander.error";
    this._exit(exitCode, code2, message);
  }
  /**
   * Apply any option related environment variables, if option does
   * not have a value from cli or client code.
   *
   * @private
   */
  _parseOptionsEnv() {
    this.options.forEach((option) => {
      if (option.envVar && option.envVar in process2.env) {
        const optionKey = option.attributeName();
        if (this.getOptionValue(optionKey) === void 0 || ["default", "config", "env"].includes(
          this.getOptionValueSource(optionKey)
        )) {
          if (option.required || option.optional) {
            this.emit(`optionEnv:${option.name()}`, process2.env[option.envVar]);
          } else {
            this.emit(`optionEnv:${option.name()}`);
          }
        }
      }
    });
  }
  /**
   * Apply any implied option values, if option is undefined or default value.
   *
   * @private
   */
  _parseOptionsImplied() {
    const dualHelper = new DualOptions(this.options);
    const hasCustomOptionValue = (optionKey) => {
      return this.getOptionValue(optionKey) !== void 0 && !["default", "implied"].includes(this.getOptionValueSource(optionKey));
    };
    this.options.filter(
      (option) => option.implied !== void 0 && hasCustomOptionValue(option.attributeName()) && dualHelper.valueFromOption(
        this.getOptionValue(option.attributeName()),
        option
      )
    ).forEach((option) => {
      Object.keys(option.implied).filter((impliedKey) => !hasCustomOptionValue(impliedKey)).forEach((impliedKey) => {
        this.setOptionValueWithSource(
          impliedKey,
          option.implied[impliedKey],
          "implied"
        );
      });
    });
  }
  /**
   * Argument `name` is missing.
   *
   * @param {string} name
   * @private
   */
  missingArgument(name) {
    const message = `error: missing required argument '${name}'`;
    this.error(message, { code: "commander.missingArgument" });
  }
  /**
   * `Option` is missing an argument.
   *
   * @param {Option} option
   * @private
   */
  optionMissingArgument(option) {
    const message = `error: option '${option.flags}' argument missing`;
    this.error(message, { code: "commander.optionMissingArgument" });
  }
  /**
   * `Option` does not have a value, and is a mandatory option.
   *
   * @param {Option} option
   * @private
   */
  missingMandatoryOptionValue(option) {
    const message = `error: required option '${option.flags}' not specified`;
    this.error(message, { code: "commander.missingMandatoryOptionValue" });
  }
  /**
   * `Option` conflicts with another option.
   *
   * @param {Option} option
   * @param {Option} conflictingOption
   * @private
   */
  _conflictingOption(option, conflictingOption) {
    const findBestOptionFromValue = (option2) => {
      const optionKey = option2.attributeName();
      const optionValue = this.getOptionValue(optionKey);
      const negativeOption = this.options.find(
        (target) => target.negate && optionKey === target.attributeName()
      );
      const positiveOption = this.options.find(
        (target) => !target.negate && optionKey === target.attributeName()
      );
      if (negativeOption && (negativeOption.presetArg === void 0 && optionValue === false || negativeOption.presetArg !== void 0 && optionValue === negativeOption.presetArg)) {
        return negativeOption;
      }
      return positiveOption || option2;
    };
    const getErrorMessage = (option2) => {
      const bestOption = findBestOptionFromValue(option2);
      const optionKey = bestOption.attributeName();
      const source2 = this.getOptionValueSource(optionKey);
      if (source2 === "env") {
        return `environment variable '${bestOption.envVar}'`;
      }
      return `option '${bestOption.flags}'`;
    };
    const message = `error: ${getErrorMessage(option)} cannot be used with ${getErrorMessage(conflictingOption)}`;
    this.error(message, { code: "commander.conflictingOption" });
  }
  /**
   * Unknown option `flag`.
   *
   * @param {string} flag
   * @private
   */
  unknownOption(flag) {
    if (this._allowUnknownOption) return;
    let suggestion = "";
    if (flag.startsWith("--") && this._showSuggestionAfterError) {
      let candidateFlags = [];
      let command = this;
      do {
        const moreFlags = command.createHelp().visibleOptions(command).filter((option) => option.long).map((option) => option.long);
        candidateFlags = candidateFlags.concat(moreFlags);
        command = command.parent;
      } while (command && !command._enablePositionalOptions);
      suggestion = suggestSimilar(flag, candidateFlags);
    }
    const message = `error: unknown option '${flag}'${suggestion}`;
    this.error(message, { code: "commander.unknownOption" });
  }
  /**
   * Excess arguments, more than expected.
   *
   * @param {string[]} receivedArgs
   * @private
   */
  _excessArguments(receivedArgs) {
    if (this._allowExcessArguments) return;
    const expected = this.registeredArguments.length;
    const s = expected === 1 ? "" : "s";
    const received = receivedArgs.length;
    const forSubcommand = this.parent ? ` for '${this.name()}'` : "";
    const details2 = receivedArgs.join(", ");
    const message = `error: too many arguments${forSubcommand}. Expected ${expected} argument${s} but got ${received}: ${details2}.`;
    this.error(message, { code: "commander.excessArguments" });
  }
  /**
   * Unknown command.
   *
   * @private
   */
  unknownCommand() {
    const unknownName = this.args[0];
    let suggestion = "";
    if (this._showSuggestionAfterError) {
      const candidateNames = [];
      this.createHelp().visibleCommands(this).forEach((command) => {
        candidateNames.push(command.name());
        if (command.alias()) candidateNames.push(command.alias());
      });
      suggestion = suggestSimilar(unknownName, candidateNames);
    }
    const message = `error: unknown command '${unknownName}'${suggestion}`;
    this.error(message, { code: "commander.unknownCommand" });
  }
  /**
   * Get or set the program version.
   *
   * This method auto-registers the "-V, --version" option which will print the version number.
   *
   * You can optionally supply the flags and description to override the defaults.
   *
   * @param {string} [str]
   * @param {string} [flags]
   * @param {string} [description]
   * @return {(this | string | undefined)} `this` command for chaining, or version string if no arguments
   */
  version(str2, flags, description) {
    if (str2 === void 0) return this._version;
    this._version = str2;
    flags = flags || "-V, --version";
    description = description || "output the version number";
    const versionOption = this.createOption(flags, description);
    this._versionOptionName = versionOption.attributeName();
    this._registerOption(versionOption);
    this.on("option:" + versionOption.name(), () => {
      this._outputConfiguration.writeOut(`${str2}
`);
      this._exit(0, "commander.version", str2);
    });
    return this;
  }
  /**
   * Set the description.
   *
   * @param {string} [str]
   * @param {object} [argsDescription]
   * @return {(string|Command)}
   */
  description(str2, argsDescription) {
    if (str2 === void 0 && argsDescription === void 0)
      return this._description;
    this._description = str2;
    if (argsDescription) {
      this._argsDescription = argsDescription;
    }
    return this;
  }
  /**
   * Set the summary. Used when listed as subcommand of parent.
   *
   * @param {string} [str]
   * @return {(string|Command)}
   */
  summary(str2) {
    if (str2 === void 0) return this._summary;
    this._summary = str2;
    return this;
  }
  /**
   * Set an alias for the command.
   *
   * You may call more than once to add multiple aliases. Only the first alias is shown in the auto-generated help.
   *
   * @param {string} [alias]
   * @return {(string|Command)}
   */
  alias(alias) {
    if (alias === void 0) return this._aliases[0];
    let command = this;
    if (this.commands.length !== 0 && this.commands[this.commands.length - 1]._executableHandler) {
      command = this.commands[this.commands.length - 1];
    }
    if (alias === command._name)
      throw new Error("Command alias can't be the same as its name");
    const matchingCommand = this.parent?._findCommand(alias);
    if (matchingCommand) {
      const existingCmd = [matchingCommand.name()].concat(matchingCommand.aliases()).join("|");
      throw new Error(
        `cannot add alias '${alias}' to command '${this.name()}' as already have command '${existingCmd}'`
      );
    }
    command._aliases.push(alias);
    return this;
  }
  /**
   * Set aliases for the command.
   *
   * Only the first alias is shown in the auto-generated help.
   *
   * @param {string[]} [aliases]
   * @return {(string[]|Command)}
   */
  aliases(aliases) {
    if (aliases === void 0) return this._aliases;
    aliases.forEach((alias) => this.alias(alias));
    return this;
  }
  /**
   * Set / get the command usage `str`.
   *
   * @param {string} [str]
   * @return {(string|Command)}
   */
  usage(str2) {
    if (str2 === void 0) {
      if (this._usage) return this._usage;
      const args = this.registeredArguments.map((arg) => {
        return humanReadableArgName(arg);
      });
      return [].concat(
        this.options.length || this._helpOption !== null ? "[options]" : [],
        this.commands.length ? "[command]" : [],
        this.registeredArguments.length ? args : []
      ).join(" ");
    }
    this._usage = str2;
    return this;
  }
  /**
   * Get or set the name of the command.
   *
   * @param {string} [str]
   * @return {(string|Command)}
   */
  name(str2) {
    if (str2 === void 0) return this._name;
    this._name = str2;
    return this;
  }
  /**
   * Set/get the help group heading for this subcommand in parent command's help.
   *
   * @param {string} [heading]
   * @return {Command | string}
   */
  helpGroup(heading) {
    if (heading === void 0) return this._helpGroupHeading ?? "";
    this._helpGroupHeading = heading;
    return this;
  }
  /**
   * Set/get the default help group heading for subcommands added to this command.
   * (This does not override a group set directly on the subcommand using .helpGroup().)
   *
   * @example
   * program.commandsGroup('Development Commands:');
   * program.command('watch')...
   * program.command('lint')...
   * ...
   *
   * @param {string} [heading]
   * @returns {Command | string}
   */
  commandsGroup(heading) {
    if (heading === void 0) return this._defaultCommandGroup ?? "";
    this._defaultCommandGroup = heading;
    return this;
  }
  /**
   * Set/get the default help group heading for options added to this command.
   * (This does not override a group set directly on the option using .helpGroup().)
   *
   * @example
   * program
   *   .optionsGroup('Development Options:')
   *   .option('-d, --debug', 'output extra debugging')
   *   .option('-p, --profile', 'output profiling information')
   *
   * @param {string} [heading]
   * @returns {Command | string}
   */
  optionsGroup(heading) {
    if (heading === void 0) return this._defaultOptionGroup ?? "";
    this._defaultOptionGroup = heading;
    return this;
  }
  /**
   * @param {Option} option
   * @private
   */
  _initOptionGroup(option) {
    if (this._defaultOptionGroup && !option.helpGroupHeading)
      option.helpGroup(this._defaultOptionGroup);
  }
  /**
   * @param {Command} cmd
   * @private
   */
  _initCommandGroup(cmd) {
    if (this._defaultCommandGroup && !cmd.helpGroup())
      cmd.helpGroup(this._defaultCommandGroup);
  }
  /**
   * Set the name of the command from script filename, such as process.argv[1],
   * or import.meta.filename.
   *
   * (Used internally and public although not documented in README.)
   *
   * @example
   * program.nameFromFilename(import.meta.filename);
   *
   * @param {string} filename
   * @return {Command}
   */
  nameFromFilename(filename) {
    this._name = path3.basename(filename, path3.extname(filename));
    return this;
  }
  /**
   * Get or set the directory for searching for executable subcommands of this command.
   *
   * @example
   * program.executableDir(import.meta.dirname);
   * // or
   * program.executableDir('subcommands');
   *
   * @param {string} [path]
   * @return {(string|null|Command)}
   */
  executableDir(path33) {
    if (path33 === void 0) return this._executableDir;
    this._executableDir = path33;
    return this;
  }
  /**
   * Return program help documentation.
   *
   * @param {{ error: boolean }} [contextOptions] - pass {error:true} to wrap for stderr instead of stdout
   * @return {string}
   */
  helpInformation(contextOptions) {
    const helper = this.createHelp();
    const context = this._getOutputContext(contextOptions);
    helper.prepareContext({
      error: context.error,
      helpWidth: context.helpWidth,
      outputHasColors: context.hasColors
    });
    const text = helper.formatHelp(this, helper);
    if (context.hasColors) return text;
    return this._outputConfiguration.stripColor(text);
  }
  /**
   * @typedef HelpContext
   * @type {object}
   * @property {boolean} error
   * @property {number} helpWidth
   * @property {boolean} hasColors
   * @property {function} write - includes stripColor if needed
   *
   * @returns {HelpContext}
   * @private
   */
  _getOutputContext(contextOptions) {
    contextOptions = contextOptions || {};
    const error = !!contextOptions.error;
    let baseWrite;
    let hasColors3;
    let helpWidth;
    if (error) {
      baseWrite = (str2) => this._outputConfiguration.writeErr(str2);
      hasColors3 = this._outputConfiguration.getErrHasColors();
      helpWidth = this._outputConfiguration.getErrHelpWidth();
    } else {
      baseWrite = (str2) => this._outputConfiguration.writeOut(str2);
      hasColors3 = this._outputConfiguration.getOutHasColors();
      helpWidth = this._outputConfiguration.getOutHelpWidth();
    }
    const write = (str2) => {
      if (!hasColors3) str2 = this._outputConfiguration.stripColor(str2);
      return baseWrite(str2);
    };
    return { error, write, hasColors: hasColors3, helpWidth };
  }
  /**
   * Output help information for this command.
   *
   * Outputs built-in help, and custom text added using `.addHelpText()`.
   *
   * @param {{ error: boolean } | Function} [contextOptions] - pass {error:true} to write to stderr instead of stdout
   */
  outputHelp(contextOptions) {
    let deprecatedCallback;
    if (typeof contextOptions === "function") {
      deprecatedCallback = contextOptions;
      contextOptions = void 0;
    }
    const outputContext = this._getOutputContext(contextOptions);
    const eventContext = {
      error: outputContext.error,
      write: outputContext.write,
      command: this
    };
    this._getCommandAndAncestors().reverse().forEach((command) => command.emit("beforeAllHelp", eventContext));
    this.emit("beforeHelp", eventContext);
    let helpInformation = this.helpInformation({ error: outputContext.error });
    if (deprecatedCallback) {
      helpInformation = deprecatedCallback(helpInformation);
      if (typeof helpInformation !== "string" && !Buffer.isBuffer(helpInformation)) {
        throw new Error("outputHelp callback must return a string or a Buffer");
      }
    }
    outputContext.write(helpInformation);
    if (this._getHelpOption()?.long) {
      this.emit(this._getHelpOption().long);
    }
    this.emit("afterHelp", eventContext);
    this._getCommandAndAncestors().forEach(
      (command) => command.emit("afterAllHelp", eventContext)
    );
  }
  /**
   * You can pass in flags and a description to customise the built-in help option.
   * Pass in false to disable the built-in help option.
   *
   * @example
   * program.helpOption('-?, --help', 'show help'); // customise
   * program.helpOption(false); // disable
   *
   * @param {(string | boolean)} flags
   * @param {string} [description]
   * @return {Command} `this` command for chaining
   */
  helpOption(flags, description) {
    if (typeof flags === "boolean") {
      if (flags) {
        if (this._helpOption === null) this._helpOption = void 0;
        if (this._defaultOptionGroup) {
          this._initOptionGroup(this._getHelpOption());
        }
      } else {
        this._helpOption = null;
      }
      return this;
    }
    this._helpOption = this.createOption(
      flags ?? "-h, --help",
      description ?? "display help for command"
    );
    if (flags || description) this._initOptionGroup(this._helpOption);
    return this;
  }
  /**
   * Lazy create help option.
   * Returns null if has been disabled with .helpOption(false).
   *
   * @returns {(Option | null)} the help option
   * @package
   */
  _getHelpOption() {
    if (this._helpOption === void 0) {
      this.helpOption(void 0, void 0);
    }
    return this._helpOption;
  }
  /**
   * Supply your own option to use for the built-in help option.
   * This is an alternative to using helpOption() to customise the flags and description etc.
   *
   * @param {Option} option
   * @return {Command} `this` command for chaining
   */
  addHelpOption(option) {
    this._helpOption = option;
    this._initOptionGroup(option);
    return this;
  }
  /**
   * Output help information and exit.
   *
   * Outputs built-in help, and custom text added using `.addHelpText()`.
   *
   * @param {{ error: boolean }} [contextOptions] - pass {error:true} to write to stderr instead of stdout
   */
  help(contextOptions) {
    this.outputHelp(contextOptions);
    let exitCode = Number(process2.exitCode ?? 0);
    if (exitCode === 0 && contextOptions && typeof contextOptions !== "function" && contextOptions.error) {
      exitCode = 1;
    }
    this._exit(exitCode, "commander.help", "(outputHelp)");
  }
  /**
   * // Do a little typing to coordinate emit and listener for the help text events.
   * @typedef HelpTextEventContext
   * @type {object}
   * @property {boolean} error
   * @property {Command} command
   * @property {function} write
   */
  /**
   * Add additional text to be displayed with the built-in help.
   *
   * Position is 'before' or 'after' to affect just this command,
   * and 'beforeAll' or 'afterAll' to affect this command and all its subcommands.
   *
   * @param {string} position - before or after built-in help
   * @param {(string | Function)} text - string to add, or a function returning a string
   * @return {Command} `this` command for chaining
   */
  addHelpText(position, text) {
    const allowedValues = ["beforeAll", "before", "after", "afterAll"];
    if (!allowedValues.includes(position)) {
      throw new Error(`Unexpected value for position to addHelpText.
Expecting one of '${allowedValues.join("', '")}'`);
    }
    const helpEvent = `${position}Help`;
    this.on(helpEvent, (context) => {
      let helpStr;
      if (typeof text === "function") {
        helpStr = text({ error: context.error, command: context.command });
      } else {
        helpStr = text;
      }
      if (helpStr) {
        context.write(`${helpStr}
`);
      }
    });
    return this;
  }
  /**
   * Output help information if help flags specified
   *
   * @param {Array} args - array of options to search for help flags
   * @private
   */
  _outputHelpIfRequested(args) {
    const helpOption = this._getHelpOption();
    const helpRequested = helpOption && args.find((arg) => helpOption.is(arg));
    if (helpRequested) {
      this.outputHelp();
      this._exit(0, "commander.helpDisplayed", "(outputHelp)");
    }
  }
};
function incrementNodeInspectorPort(args) {
  return args.map((arg) => {
    if (!arg.startsWith("--inspect")) {
      return arg;
    }
    let debugOption;
    let debugHost = "127.0.0.1";
    let debugPort = "9229";
    let match;
    if ((match = arg.match(/^(--inspect(-brk|-wait)?)$/)) !== null) {
      debugOption = match[1];
    } else if ((match = arg.match(
      /^(--inspect(-brk|-port|-wait)?)=(\[[^\]]+\]|[^:]+)$/
    )) !== null) {
      debugOption = match[1];
      if (/^\d+$/.test(match[3])) {
        debugPort = match[3];
      } else {
        debugHost = match[3];
      }
    } else if ((match = arg.match(
      /^(--inspect(-brk|-port|-wait)?)=(\[[^\]]+\]|[^:]+):(\d+)$/
    )) !== null) {
      debugOption = match[1];
      debugHost = match[3];
      debugPort = match[4];
    }
    if (debugOption && debugPort !== "0") {
      return `${debugOption}=${debugHost}:${parseInt(debugPort) + 1}`;
    }
    return arg;
  });
}
function useColor() {
  if (process2.env.NO_COLOR || process2.env.FORCE_COLOR === "0" || process2.env.FORCE_COLOR === "false")
    return false;
  if (process2.env.FORCE_COLOR || process2.env.CLICOLOR_FORCE !== void 0)
    return true;
  return void 0;
}

// node_modules/commander/index.js
var program = new Command();

// src/qemu/accel.ts
import { accessSync, constants as constants4, mkdtempSync as mkdtempSync2, rmSync as rmSync2, writeFileSync as writeFileSync4 } from "node:fs";
import os2 from "node:os";
import path13 from "node:path";

// node_modules/is-plain-obj/index.js
function isPlainObject(value) {
  if (typeof value !== "object" || value === null) {
    return false;
  }
  const prototype = Object.getPrototypeOf(value);
  return (prototype === null || prototype === Object.prototype || Object.getPrototypeOf(prototype) === null) && !(Symbol.toStringTag in value) && !(Symbol.iterator in value);
}

// node_modules/execa/lib/arguments/file-url.js
import { fileURLToPath } from "node:url";
var safeNormalizeFileUrl = (file, name) => {
  const fileString = normalizeFileUrl(normalizeDenoExecPath(file));
  if (typeof fileString !== "string") {
    throw new TypeError(`${name} must be a string or a file URL: ${fileString}.`);
  }
  return fileString;
};
var normalizeDenoExecPath = (file) => isDenoExecPath(file) ? file.toString() : file;
var isDenoExecPath = (file) => typeof file !== "string" && file && Object.getPrototypeOf(file) === String.prototype;
var normalizeFileUrl = (file) => file instanceof URL ? fileURLToPath(file) : file;

// node_modules/execa/lib/methods/parameters.js
var normalizeParameters = (rawFile, rawArguments = [], rawOptions, ...rawExtraArguments) => {
  if (rawExtraArguments.length > 0) {
    throw new TypeError("Execa accepts at most three arguments: file, arguments, options.");
  }
  if (rawOptions !== void 0 && isPlainObject(rawArguments)) {
    throw new TypeError("Execa accepts at most one options object. Please merge the second and third arguments.");
  }
  const filePath = safeNormalizeFileUrl(rawFile, "First argument");
  const [commandArguments, options = {}] = isPlainObject(rawArguments) ? [[], rawArguments] : [rawArguments, rawOptions];
  if (!Array.isArray(commandArguments)) {
    throw new TypeError(`Second argument must be either an array of arguments or an options object: ${commandArguments}`);
  }
  if (commandArguments.some((commandArgument) => typeof commandArgument === "object" && commandArgument !== null)) {
    throw new TypeError(`Second argument must be an array of strings: ${commandArguments}`);
  }
  const normalizedArguments = commandArguments.map(String);
  const nullByteArgument = normalizedArguments.find((normalizedArgument) => normalizedArgument.includes("\0"));
  if (nullByteArgument !== void 0) {
    throw new TypeError(`Arguments cannot contain null bytes ("\\0"): ${nullByteArgument}`);
  }
  if (!isPlainObject(options)) {
    throw new TypeError(`Last argument must be an options object: ${options}`);
  }
  return [filePath, normalizedArguments, { __proto__: null, ...options }];
};

// node_modules/execa/lib/methods/template.js
import { ChildProcess } from "node:child_process";

// node_modules/execa/lib/arguments/escape.js
import { platform } from "node:process";
import { stripVTControlCharacters as stripVTControlCharacters3 } from "node:util";
var joinCommand = (filePath, rawArguments, shell) => {
  const fileAndArguments = [filePath, ...rawArguments];
  const command = fileAndArguments.join(" ");
  const escapedCommand = shell ? escapeControlCharacters(command) : fileAndArguments.map((fileAndArgument) => quoteString(escapeControlCharacters(fileAndArgument))).join(" ");
  return { command, escapedCommand };
};
var escapeLines = (lines) => stripVTControlCharacters3(lines).split("\n").map((line) => escapeControlCharacters(line)).join("\n");
var escapeControlCharacters = (line) => line.replaceAll(SPECIAL_CHAR_REGEXP, (character) => escapeControlCharacter(character));
var escapeControlCharacter = (character) => {
  const commonEscape = COMMON_ESCAPES[character];
  if (commonEscape !== void 0) {
    return commonEscape;
  }
  const codepoint = character.codePointAt(0);
  const codepointHex = codepoint.toString(16);
  return codepoint <= ASTRAL_START ? `\\u${codepointHex.padStart(4, "0")}` : `\\U${codepointHex}`;
};
var getSpecialCharRegExp = () => {
  try {
    return new RegExp("\\p{Separator}|\\p{Other}", "gu");
  } catch {
    return /[\s\u0000-\u001F\u007F-\u009F\u00AD]/g;
  }
};
var SPECIAL_CHAR_REGEXP = getSpecialCharRegExp();
var COMMON_ESCAPES = {
  " ": " ",
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "	": "\\t"
};
var ASTRAL_START = 65535;
var quoteString = (escapedArgument) => {
  if (NO_ESCAPE_REGEXP.test(escapedArgument)) {
    return escapedArgument;
  }
  return platform === "win32" ? `"${escapedArgument.replaceAll('"', '""')}"` : `'${escapedArgument.replaceAll("'", "'\\''")}'`;
};
var NO_ESCAPE_REGEXP = /^[\w\-./]+$/;

// node_modules/execa/lib/utils/uint-array.js
import { StringDecoder } from "node:string_decoder";
var { toString: objectToString } = Object.prototype;
var isArrayBuffer = (value) => objectToString.call(value) === "[object ArrayBuffer]";
var isUint8Array = (value) => objectToString.call(value) === "[object Uint8Array]";
var bufferToUint8Array = (buffer) => new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
var textEncoder = new TextEncoder();
var stringToUint8Array = (string) => textEncoder.encode(string);
var textDecoder = new TextDecoder();
var uint8ArrayToString = (uint8Array) => textDecoder.decode(uint8Array);
var joinToString = (uint8ArraysOrStrings, encoding) => {
  const strings = uint8ArraysToStrings(uint8ArraysOrStrings, encoding);
  return strings.join("");
};
var uint8ArraysToStrings = (uint8ArraysOrStrings, encoding) => {
  if (encoding === "utf8" && uint8ArraysOrStrings.every((uint8ArrayOrString) => typeof uint8ArrayOrString === "string")) {
    return uint8ArraysOrStrings;
  }
  const decoder = new StringDecoder(encoding);
  const strings = uint8ArraysOrStrings.map((uint8ArrayOrString) => typeof uint8ArrayOrString === "string" ? stringToUint8Array(uint8ArrayOrString) : uint8ArrayOrString).map((uint8Array) => decoder.write(uint8Array));
  const finalString = decoder.end();
  return finalString === "" ? strings : [...strings, finalString];
};
var joinToUint8Array = (uint8ArraysOrStrings) => uint8ArraysOrStrings.length === 1 && isUint8Array(uint8ArraysOrStrings[0]) ? uint8ArraysOrStrings[0] : concatUint8Arrays(stringsToUint8Arrays(uint8ArraysOrStrings));
var stringsToUint8Arrays = (uint8ArraysOrStrings) => uint8ArraysOrStrings.map((uint8ArrayOrString) => typeof uint8ArrayOrString === "string" ? stringToUint8Array(uint8ArrayOrString) : uint8ArrayOrString);
var concatUint8Arrays = (uint8Arrays) => {
  const result = new Uint8Array(getJoinLength(uint8Arrays));
  let index = 0;
  for (const uint8Array of uint8Arrays) {
    result.set(uint8Array, index);
    index += uint8Array.length;
  }
  return result;
};
var getJoinLength = (uint8Arrays) => {
  let joinLength = 0;
  for (const uint8Array of uint8Arrays) {
    joinLength += uint8Array.length;
  }
  return joinLength;
};

// node_modules/execa/lib/return/final-error.js
var getFinalError = (originalError, message, isSync) => {
  const ErrorClass = isSync ? ExecaSyncError : ExecaError;
  const options = originalError instanceof DiscardedError ? {} : { cause: originalError };
  return new ErrorClass(message, options);
};
var DiscardedError = class extends Error {
};
var setErrorName = (ErrorClass, value) => {
  Object.defineProperties(ErrorClass.prototype, {
    name: {
      value,
      writable: true,
      enumerable: false,
      configurable: true
    },
    [execaErrorSymbol]: {
      value: true,
      writable: false,
      enumerable: false,
      configurable: false
    }
  });
};
var isExecaError = (error) => isErrorInstance(error) && execaErrorSymbol in error;
var execaErrorSymbol = /* @__PURE__ */ Symbol("isExecaError");
var isErrorInstance = (value) => value instanceof Error || Object.prototype.toString.call(value) === "[object Error]";
var ExecaError = class extends Error {
};
setErrorName(ExecaError, ExecaError.name);
var ExecaSyncError = class extends Error {
};
setErrorName(ExecaSyncError, ExecaSyncError.name);

// node_modules/execa/lib/utils/type-name.js
var getTypeName = (value) => value === null ? "null" : typeof value;

// node_modules/execa/lib/methods/template.js
var isTemplateString = (templates) => Array.isArray(templates) && Array.isArray(templates.raw);
var parseTemplates = (templates, expressions) => {
  let tokens = [];
  let isSeparated = false;
  for (const [index, template] of templates.entries()) {
    ({ tokens, isSeparated } = parseTemplate({
      templates,
      expressions,
      tokens,
      isSeparated,
      index,
      template
    }));
  }
  if (tokens.length === 0) {
    throw new TypeError("Template script must not be empty");
  }
  const [file, ...commandArguments] = tokens;
  return [file, commandArguments, {}];
};
var parseTemplate = ({ templates, expressions, tokens, isSeparated, index, template }) => {
  if (template === void 0) {
    throw new TypeError(`Invalid backslash sequence: ${templates.raw[index]}`);
  }
  const { nextTokens, leadingWhitespaces, trailingWhitespaces } = splitByWhitespaces(template, templates.raw[index]);
  const newTokens = concatTokens(tokens, nextTokens, isSeparated || leadingWhitespaces);
  const isTemplateSeparated = trailingWhitespaces || nextTokens.length === 0 && isSeparated;
  if (index === expressions.length) {
    return { tokens: newTokens, isSeparated: isTemplateSeparated };
  }
  const expression = expressions[index];
  const expressionTokens = Array.isArray(expression) ? expression.map((expression2) => parseExpression(expression2)) : [parseExpression(expression)];
  return {
    tokens: concatTokens(newTokens, expressionTokens, isTemplateSeparated),
    isSeparated: expressionTokens.length === 0 && isTemplateSeparated
  };
};
var splitByWhitespaces = (template, rawTemplate) => {
  if (template.length === 0) {
    return { nextTokens: [], leadingWhitespaces: false, trailingWhitespaces: false };
  }
  const nextTokens = [];
  let templateStart = 0;
  let isLeadingWhitespaces = false;
  for (let templateIndex = 0, rawIndex = 0; templateIndex < template.length; templateIndex += 1, rawIndex += 1) {
    const rawCharacter = rawTemplate[rawIndex];
    if (DELIMITERS.has(rawCharacter)) {
      if (templateIndex === 0) {
        isLeadingWhitespaces = true;
      }
      if (templateStart !== templateIndex) {
        nextTokens.push(template.slice(templateStart, templateIndex));
      }
      templateStart = templateIndex + 1;
    } else if (rawCharacter === "\\") {
      const nextRawCharacter = rawTemplate[rawIndex + 1];
      if (nextRawCharacter === "\n") {
        templateIndex -= 1;
        rawIndex += 1;
      } else if (nextRawCharacter === "u" && rawTemplate[rawIndex + 2] === "{") {
        const closingBraceIndex = rawTemplate.indexOf("}", rawIndex + 3);
        if (isAstralEscape(rawTemplate.slice(rawIndex + 3, closingBraceIndex))) {
          templateIndex += 1;
        }
        rawIndex = closingBraceIndex;
      } else {
        rawIndex += ESCAPE_LENGTH[nextRawCharacter] ?? 1;
      }
    }
  }
  const isTrailingWhitespaces = templateStart === template.length;
  if (!isTrailingWhitespaces) {
    nextTokens.push(template.slice(templateStart));
  }
  return { nextTokens, leadingWhitespaces: isLeadingWhitespaces, trailingWhitespaces: isTrailingWhitespaces };
};
var isAstralEscape = (codePointHex) => Number.parseInt(codePointHex, 16) > ASTRAL_START;
var DELIMITERS = /* @__PURE__ */ new Set([" ", "	", "\r", "\n"]);
var ESCAPE_LENGTH = { x: 3, u: 5 };
var concatTokens = (tokens, nextTokens, isSeparated) => isSeparated || tokens.length === 0 || nextTokens.length === 0 ? [...tokens, ...nextTokens] : [
  ...tokens.slice(0, -1),
  `${tokens.at(-1)}${nextTokens[0]}`,
  ...nextTokens.slice(1)
];
var parseExpression = (expression) => {
  const typeOfExpression = getTypeName(expression);
  if (typeOfExpression === "string") {
    return expression;
  }
  if (typeOfExpression === "number") {
    return String(expression);
  }
  if ((isPlainObject(expression) || isExecaError(expression)) && (Object.hasOwn(expression, "stdout") || Object.hasOwn(expression, "isMaxBuffer"))) {
    return getSubprocessResult(expression);
  }
  if (expression instanceof ChildProcess || Object.prototype.toString.call(expression) === "[object Promise]") {
    throw new TypeError("Unexpected subprocess in template expression. Please use ${await subprocess} instead of ${subprocess}.");
  }
  throw new TypeError(`Unexpected "${typeOfExpression}" in template expression`);
};
var getSubprocessResult = (result) => {
  const stdout = Object.hasOwn(result, "stdout") ? result.stdout : void 0;
  if (typeof stdout === "string") {
    return stdout;
  }
  if (isUint8Array(stdout)) {
    return uint8ArrayToString(stdout);
  }
  if (stdout === void 0) {
    throw new TypeError(`Missing result.stdout in template expression. This is probably due to the previous subprocess' "stdout" option.`);
  }
  throw new TypeError(`Unexpected "${getTypeName(stdout)}" stdout in template expression`);
};

// node_modules/execa/lib/methods/main-sync.js
import { spawnSync } from "node:child_process";

// node_modules/execa/lib/arguments/specific.js
import { debuglog } from "node:util";

// node_modules/execa/lib/utils/standard-stream.js
import process3 from "node:process";
var isStandardStream = (stream) => STANDARD_STREAMS.includes(stream);
var STANDARD_STREAMS = [process3.stdin, process3.stdout, process3.stderr];
var STANDARD_STREAMS_ALIASES = ["stdin", "stdout", "stderr"];
var getStreamName = (fdNumber) => STANDARD_STREAMS_ALIASES[fdNumber] ?? `stdio[${fdNumber}]`;
var allStreamSymbol = /* @__PURE__ */ Symbol("execa.allStream");
var setAllStream = (stream) => Object.assign(stream, { [allStreamSymbol]: true });
var isAllStream = (stream) => stream?.[allStreamSymbol] === true;

// node_modules/execa/lib/utils/options.js
var copyOptions = (options = {}) => {
  if (options === null) {
    throw new TypeError("The options must be an object, not `null`.");
  }
  return { __proto__: null, ...options };
};
var checkBooleanOption = (value, optionName) => {
  if (value !== void 0 && typeof value !== "boolean") {
    throw new TypeError(`The \`${optionName}\` option must use a boolean.`);
  }
};

// node_modules/execa/lib/arguments/specific.js
var normalizeFdSpecificOptions = (options) => {
  const optionsCopy = { __proto__: null, ...options };
  for (const optionName of FD_SPECIFIC_OPTIONS) {
    optionsCopy[optionName] = normalizeFdSpecificOption(options, optionName);
  }
  return optionsCopy;
};
var normalizeFdSpecificOption = (options, optionName) => {
  const stdioLength = getStdioLength(options);
  const optionBaseArray = Array.from({ length: stdioLength + 1 });
  const optionArray = normalizeFdSpecificValue(options[optionName], optionBaseArray, optionName, stdioLength);
  return addDefaultValue(optionArray, optionName);
};
var getStdioLength = ({ stdio }) => Array.isArray(stdio) ? Math.max(stdio.length, STANDARD_STREAMS_ALIASES.length) : STANDARD_STREAMS_ALIASES.length;
var normalizeFdSpecificValue = (optionValue, optionArray, optionName, stdioLength) => {
  if (isPlainObject(optionValue)) {
    return normalizeOptionObject(optionValue, optionArray, optionName, stdioLength);
  }
  validateFdSpecificValue(optionValue, optionName);
  return optionArray.fill(optionValue);
};
var normalizeOptionObject = (optionValue, optionArray, optionName, stdioLength) => {
  for (const fdName of Object.keys(optionValue).sort(compareFdName)) {
    validateFdSpecificValue(optionValue[fdName], optionName, `${optionName}.${fdName}`);
    for (const fdNumber of parseFdName(fdName, optionName, stdioLength)) {
      optionArray[fdNumber] = optionValue[fdName];
    }
  }
  return optionArray;
};
var compareFdName = (fdNameA, fdNameB) => getFdNameOrder(fdNameA) < getFdNameOrder(fdNameB) ? 1 : -1;
var getFdNameOrder = (fdName) => {
  if (fdName === "stdout" || fdName === "stderr") {
    return 0;
  }
  return fdName === "all" ? 2 : 1;
};
var parseFdName = (fdName, optionName, stdioLength) => {
  if (fdName === "ipc") {
    return [stdioLength];
  }
  const fdNumber = parseFd(fdName);
  if (fdNumber === void 0 || fdNumber === 0) {
    throw new TypeError(`"${optionName}.${fdName}" is invalid.
It must be "${optionName}.stdout", "${optionName}.stderr", "${optionName}.all", "${optionName}.ipc", or "${optionName}.fd3", "${optionName}.fd4" (and so on).`);
  }
  if (fdNumber !== "all" && fdNumber >= stdioLength) {
    throw new TypeError(`"${optionName}.${fdName}" is invalid: that file descriptor does not exist.
Please set the "stdio" option to ensure that file descriptor exists.`);
  }
  return fdNumber === "all" ? [1, 2] : [fdNumber];
};
var parseFd = (fdName) => {
  if (fdName === "all") {
    return fdName;
  }
  if (STANDARD_STREAMS_ALIASES.includes(fdName)) {
    return STANDARD_STREAMS_ALIASES.indexOf(fdName);
  }
  const regexpResult = FD_REGEXP.exec(fdName);
  if (regexpResult !== null) {
    return Number(regexpResult.groups.fdNumber);
  }
};
var FD_REGEXP = /^fd(?<fdNumber>\d+)$/;
var addDefaultValue = (optionArray, optionName) => optionArray.map((optionValue) => optionValue === void 0 ? DEFAULT_OPTIONS[optionName] : optionValue);
var BOOLEAN_FD_SPECIFIC_OPTIONS = /* @__PURE__ */ new Set(["lines", "buffer", "stripFinalNewline"]);
var validateFdSpecificValue = (optionValue, optionName, fullOptionName = optionName) => {
  if (BOOLEAN_FD_SPECIFIC_OPTIONS.has(optionName)) {
    checkBooleanOption(optionValue, fullOptionName);
  } else if (optionName === "maxBuffer" && optionValue !== void 0 && (typeof optionValue !== "number" || Number.isNaN(optionValue))) {
    throw new TypeError(`The \`${fullOptionName}\` option must use a number.`);
  }
};
var verboseDefault = debuglog("execa").enabled ? "full" : "none";
var DEFAULT_OPTIONS = {
  lines: false,
  buffer: true,
  maxBuffer: 1e3 * 1e3 * 100,
  verbose: verboseDefault,
  stripFinalNewline: true
};
var FD_SPECIFIC_OPTIONS = ["lines", "buffer", "maxBuffer", "verbose", "stripFinalNewline"];
var getFdSpecificValue = (optionArray, fdNumber) => fdNumber === "ipc" ? optionArray.at(-1) : optionArray[fdNumber];

// node_modules/execa/lib/verbose/values.js
var isVerbose = ({ verbose }, fdNumber) => getFdVerbose(verbose, fdNumber) !== "none";
var isFullVerbose = ({ verbose }, fdNumber) => !["none", "short"].includes(getFdVerbose(verbose, fdNumber));
var getVerboseFunction = ({ verbose }, fdNumber) => {
  const fdVerbose = getFdVerbose(verbose, fdNumber);
  return isVerboseFunction(fdVerbose) ? fdVerbose : void 0;
};
var getFdVerbose = (verbose, fdNumber) => fdNumber === void 0 ? getFdGenericVerbose(verbose) : getFdSpecificValue(verbose, fdNumber);
var getFdGenericVerbose = (verbose) => verbose.find((fdVerbose) => isVerboseFunction(fdVerbose)) ?? VERBOSE_VALUES.findLast((fdVerbose) => verbose.includes(fdVerbose));
var isVerboseFunction = (fdVerbose) => typeof fdVerbose === "function";
var VERBOSE_VALUES = ["none", "short", "full"];

// node_modules/execa/lib/verbose/log.js
import { inspect } from "node:util";

// node_modules/execa/lib/verbose/default.js
import process5 from "node:process";

// node_modules/is-unicode-supported/index.js
import process4 from "node:process";
function isUnicodeSupported() {
  const { env } = process4;
  const { TERM, TERM_PROGRAM } = env;
  if (process4.platform !== "win32") {
    return TERM !== "linux";
  }
  return Boolean(env.WT_SESSION) || Boolean(env.TERMINUS_SUBLIME) || env.ConEmuTask === "{cmd::Cmder}" || TERM_PROGRAM === "Terminus-Sublime" || TERM_PROGRAM === "vscode" || TERM === "xterm-256color" || TERM === "alacritty" || TERM === "rxvt-unicode" || TERM === "rxvt-unicode-256color" || env.TERMINAL_EMULATOR === "JetBrains-JediTerm";
}

// node_modules/figures/index.js
var common = {
  circleQuestionMark: "(?)",
  questionMarkPrefix: "(?)",
  square: "\u2588",
  squareDarkShade: "\u2593",
  squareMediumShade: "\u2592",
  squareLightShade: "\u2591",
  squareTop: "\u2580",
  squareBottom: "\u2584",
  squareLeft: "\u258C",
  squareRight: "\u2590",
  squareCenter: "\u25A0",
  bullet: "\u25CF",
  dot: "\u2024",
  ellipsis: "\u2026",
  pointerSmall: "\u203A",
  triangleUp: "\u25B2",
  triangleUpSmall: "\u25B4",
  triangleDown: "\u25BC",
  triangleDownSmall: "\u25BE",
  triangleLeftSmall: "\u25C2",
  triangleRightSmall: "\u25B8",
  home: "\u2302",
  heart: "\u2665",
  musicNote: "\u266A",
  musicNoteBeamed: "\u266B",
  arrowUp: "\u2191",
  arrowDown: "\u2193",
  arrowLeft: "\u2190",
  arrowRight: "\u2192",
  arrowLeftRight: "\u2194",
  arrowUpDown: "\u2195",
  almostEqual: "\u2248",
  notEqual: "\u2260",
  lessOrEqual: "\u2264",
  greaterOrEqual: "\u2265",
  identical: "\u2261",
  infinity: "\u221E",
  subscriptZero: "\u2080",
  subscriptOne: "\u2081",
  subscriptTwo: "\u2082",
  subscriptThree: "\u2083",
  subscriptFour: "\u2084",
  subscriptFive: "\u2085",
  subscriptSix: "\u2086",
  subscriptSeven: "\u2087",
  subscriptEight: "\u2088",
  subscriptNine: "\u2089",
  oneHalf: "\xBD",
  oneThird: "\u2153",
  oneQuarter: "\xBC",
  oneFifth: "\u2155",
  oneSixth: "\u2159",
  oneEighth: "\u215B",
  twoThirds: "\u2154",
  twoFifths: "\u2156",
  threeQuarters: "\xBE",
  threeFifths: "\u2157",
  threeEighths: "\u215C",
  fourFifths: "\u2158",
  fiveSixths: "\u215A",
  fiveEighths: "\u215D",
  sevenEighths: "\u215E",
  line: "\u2500",
  lineBold: "\u2501",
  lineDouble: "\u2550",
  lineDashed0: "\u2504",
  lineDashed1: "\u2505",
  lineDashed2: "\u2508",
  lineDashed3: "\u2509",
  lineDashed4: "\u254C",
  lineDashed5: "\u254D",
  lineDashed6: "\u2574",
  lineDashed7: "\u2576",
  lineDashed8: "\u2578",
  lineDashed9: "\u257A",
  lineDashed10: "\u257C",
  lineDashed11: "\u257E",
  lineDashed12: "\u2212",
  lineDashed13: "\u2013",
  lineDashed14: "\u2010",
  lineDashed15: "\u2043",
  lineVertical: "\u2502",
  lineVerticalBold: "\u2503",
  lineVerticalDouble: "\u2551",
  lineVerticalDashed0: "\u2506",
  lineVerticalDashed1: "\u2507",
  lineVerticalDashed2: "\u250A",
  lineVerticalDashed3: "\u250B",
  lineVerticalDashed4: "\u254E",
  lineVerticalDashed5: "\u254F",
  lineVerticalDashed6: "\u2575",
  lineVerticalDashed7: "\u2577",
  lineVerticalDashed8: "\u2579",
  lineVerticalDashed9: "\u257B",
  lineVerticalDashed10: "\u257D",
  lineVerticalDashed11: "\u257F",
  lineDownLeft: "\u2510",
  lineDownLeftArc: "\u256E",
  lineDownBoldLeftBold: "\u2513",
  lineDownBoldLeft: "\u2512",
  lineDownLeftBold: "\u2511",
  lineDownDoubleLeftDouble: "\u2557",
  lineDownDoubleLeft: "\u2556",
  lineDownLeftDouble: "\u2555",
  lineDownRight: "\u250C",
  lineDownRightArc: "\u256D",
  lineDownBoldRightBold: "\u250F",
  lineDownBoldRight: "\u250E",
  lineDownRightBold: "\u250D",
  lineDownDoubleRightDouble: "\u2554",
  lineDownDoubleRight: "\u2553",
  lineDownRightDouble: "\u2552",
  lineUpLeft: "\u2518",
  lineUpLeftArc: "\u256F",
  lineUpBoldLeftBold: "\u251B",
  lineUpBoldLeft: "\u251A",
  lineUpLeftBold: "\u2519",
  lineUpDoubleLeftDouble: "\u255D",
  lineUpDoubleLeft: "\u255C",
  lineUpLeftDouble: "\u255B",
  lineUpRight: "\u2514",
  lineUpRightArc: "\u2570",
  lineUpBoldRightBold: "\u2517",
  lineUpBoldRight: "\u2516",
  lineUpRightBold: "\u2515",
  lineUpDoubleRightDouble: "\u255A",
  lineUpDoubleRight: "\u2559",
  lineUpRightDouble: "\u2558",
  lineUpDownLeft: "\u2524",
  lineUpBoldDownBoldLeftBold: "\u252B",
  lineUpBoldDownBoldLeft: "\u2528",
  lineUpDownLeftBold: "\u2525",
  lineUpBoldDownLeftBold: "\u2529",
  lineUpDownBoldLeftBold: "\u252A",
  lineUpDownBoldLeft: "\u2527",
  lineUpBoldDownLeft: "\u2526",
  lineUpDoubleDownDoubleLeftDouble: "\u2563",
  lineUpDoubleDownDoubleLeft: "\u2562",
  lineUpDownLeftDouble: "\u2561",
  lineUpDownRight: "\u251C",
  lineUpBoldDownBoldRightBold: "\u2523",
  lineUpBoldDownBoldRight: "\u2520",
  lineUpDownRightBold: "\u251D",
  lineUpBoldDownRightBold: "\u2521",
  lineUpDownBoldRightBold: "\u2522",
  lineUpDownBoldRight: "\u251F",
  lineUpBoldDownRight: "\u251E",
  lineUpDoubleDownDoubleRightDouble: "\u2560",
  lineUpDoubleDownDoubleRight: "\u255F",
  lineUpDownRightDouble: "\u255E",
  lineDownLeftRight: "\u252C",
  lineDownBoldLeftBoldRightBold: "\u2533",
  lineDownLeftBoldRightBold: "\u252F",
  lineDownBoldLeftRight: "\u2530",
  lineDownBoldLeftBoldRight: "\u2531",
  lineDownBoldLeftRightBold: "\u2532",
  lineDownLeftRightBold: "\u252E",
  lineDownLeftBoldRight: "\u252D",
  lineDownDoubleLeftDoubleRightDouble: "\u2566",
  lineDownDoubleLeftRight: "\u2565",
  lineDownLeftDoubleRightDouble: "\u2564",
  lineUpLeftRight: "\u2534",
  lineUpBoldLeftBoldRightBold: "\u253B",
  lineUpLeftBoldRightBold: "\u2537",
  lineUpBoldLeftRight: "\u2538",
  lineUpBoldLeftBoldRight: "\u2539",
  lineUpBoldLeftRightBold: "\u253A",
  lineUpLeftRightBold: "\u2536",
  lineUpLeftBoldRight: "\u2535",
  lineUpDoubleLeftDoubleRightDouble: "\u2569",
  lineUpDoubleLeftRight: "\u2568",
  lineUpLeftDoubleRightDouble: "\u2567",
  lineUpDownLeftRight: "\u253C",
  lineUpBoldDownBoldLeftBoldRightBold: "\u254B",
  lineUpDownBoldLeftBoldRightBold: "\u2548",
  lineUpBoldDownLeftBoldRightBold: "\u2547",
  lineUpBoldDownBoldLeftRightBold: "\u254A",
  lineUpBoldDownBoldLeftBoldRight: "\u2549",
  lineUpBoldDownLeftRight: "\u2540",
  lineUpDownBoldLeftRight: "\u2541",
  lineUpDownLeftBoldRight: "\u253D",
  lineUpDownLeftRightBold: "\u253E",
  lineUpBoldDownBoldLeftRight: "\u2542",
  lineUpDownLeftBoldRightBold: "\u253F",
  lineUpBoldDownLeftBoldRight: "\u2543",
  lineUpBoldDownLeftRightBold: "\u2544",
  lineUpDownBoldLeftBoldRight: "\u2545",
  lineUpDownBoldLeftRightBold: "\u2546",
  lineUpDoubleDownDoubleLeftDoubleRightDouble: "\u256C",
  lineUpDoubleDownDoubleLeftRight: "\u256B",
  lineUpDownLeftDoubleRightDouble: "\u256A",
  lineCross: "\u2573",
  lineBackslash: "\u2572",
  lineSlash: "\u2571"
};
var specialMainSymbols = {
  tick: "\u2714",
  info: "\u2139",
  warning: "\u26A0",
  cross: "\u2718",
  squareSmall: "\u25FB",
  squareSmallFilled: "\u25FC",
  circle: "\u25EF",
  circleFilled: "\u25C9",
  circleDotted: "\u25CC",
  circleDouble: "\u25CE",
  circleCircle: "\u24DE",
  circleCross: "\u24E7",
  circlePipe: "\u24BE",
  radioOn: "\u25C9",
  radioOff: "\u25EF",
  checkboxOn: "\u2612",
  checkboxOff: "\u2610",
  checkboxCircleOn: "\u24E7",
  checkboxCircleOff: "\u24BE",
  pointer: "\u276F",
  triangleUpOutline: "\u25B3",
  triangleLeft: "\u25C0",
  triangleRight: "\u25B6",
  lozenge: "\u25C6",
  lozengeOutline: "\u25C7",
  hamburger: "\u2630",
  smiley: "\u32E1",
  mustache: "\u0DF4",
  star: "\u2605",
  play: "\u25B6",
  nodejs: "\u2B22",
  oneSeventh: "\u2150",
  oneNinth: "\u2151",
  oneTenth: "\u2152"
};
var specialFallbackSymbols = {
  tick: "\u221A",
  info: "i",
  warning: "\u203C",
  cross: "\xD7",
  squareSmall: "\u25A1",
  squareSmallFilled: "\u25A0",
  circle: "( )",
  circleFilled: "(*)",
  circleDotted: "( )",
  circleDouble: "( )",
  circleCircle: "(\u25CB)",
  circleCross: "(\xD7)",
  circlePipe: "(\u2502)",
  radioOn: "(*)",
  radioOff: "( )",
  checkboxOn: "[\xD7]",
  checkboxOff: "[ ]",
  checkboxCircleOn: "(\xD7)",
  checkboxCircleOff: "( )",
  pointer: ">",
  triangleUpOutline: "\u2206",
  triangleLeft: "\u25C4",
  triangleRight: "\u25BA",
  lozenge: "\u2666",
  lozengeOutline: "\u25CA",
  hamburger: "\u2261",
  smiley: "\u263A",
  mustache: "\u250C\u2500\u2510",
  star: "\u2736",
  play: "\u25BA",
  nodejs: "\u2666",
  oneSeventh: "1/7",
  oneNinth: "1/9",
  oneTenth: "1/10"
};
var mainSymbols = { ...common, ...specialMainSymbols };
var fallbackSymbols = { ...common, ...specialFallbackSymbols };
var shouldUseMain = isUnicodeSupported();
var figures = shouldUseMain ? mainSymbols : fallbackSymbols;
var figures_default = figures;
var replacements = Object.entries(specialMainSymbols);

// node_modules/yoctocolors/base.js
import tty from "node:tty";
var hasColors = tty?.WriteStream?.prototype?.hasColors?.() ?? false;
var format = (open, close) => {
  if (!hasColors) {
    return (input) => input;
  }
  const openCode = `\x1B[${open}m`;
  const closeCode = `\x1B[${close}m`;
  return (input) => {
    const string = input + "";
    let index = string.indexOf(closeCode);
    if (index === -1) {
      return openCode + string + closeCode;
    }
    let result = openCode;
    let lastIndex = 0;
    const reopenOnNestedClose = close === 22;
    const replaceCode = (reopenOnNestedClose ? closeCode : "") + openCode;
    while (index !== -1) {
      result += string.slice(lastIndex, index) + replaceCode;
      lastIndex = index + closeCode.length;
      index = string.indexOf(closeCode, lastIndex);
    }
    result += string.slice(lastIndex) + closeCode;
    return result;
  };
};
var reset = format(0, 0);
var bold = format(1, 22);
var dim = format(2, 22);
var italic = format(3, 23);
var underline = format(4, 24);
var underlineDouble = format("4:2", 24);
var underlineCurly = format("4:3", 24);
var underlineDotted = format("4:4", 24);
var underlineDashed = format("4:5", 24);
var overline = format(53, 55);
var inverse = format(7, 27);
var hidden = format(8, 28);
var strikethrough = format(9, 29);
var black = format(30, 39);
var red = format(31, 39);
var green = format(32, 39);
var yellow = format(33, 39);
var blue = format(34, 39);
var magenta = format(35, 39);
var cyan = format(36, 39);
var white = format(37, 39);
var gray = format(90, 39);
var bgBlack = format(40, 49);
var bgRed = format(41, 49);
var bgGreen = format(42, 49);
var bgYellow = format(43, 49);
var bgBlue = format(44, 49);
var bgMagenta = format(45, 49);
var bgCyan = format(46, 49);
var bgWhite = format(47, 49);
var bgGray = format(100, 49);
var redBright = format(91, 39);
var greenBright = format(92, 39);
var yellowBright = format(93, 39);
var blueBright = format(94, 39);
var magentaBright = format(95, 39);
var cyanBright = format(96, 39);
var whiteBright = format(97, 39);
var bgRedBright = format(101, 49);
var bgGreenBright = format(102, 49);
var bgYellowBright = format(103, 49);
var bgBlueBright = format(104, 49);
var bgMagentaBright = format(105, 49);
var bgCyanBright = format(106, 49);
var bgWhiteBright = format(107, 49);
var underlineBlack = format("58;5;0", 59);
var underlineRed = format("58;5;1", 59);
var underlineGreen = format("58;5;2", 59);
var underlineYellow = format("58;5;3", 59);
var underlineBlue = format("58;5;4", 59);
var underlineMagenta = format("58;5;5", 59);
var underlineCyan = format("58;5;6", 59);
var underlineWhite = format("58;5;7", 59);
var underlineGray = format("58;5;8", 59);
var underlineRedBright = format("58;5;9", 59);
var underlineGreenBright = format("58;5;10", 59);
var underlineYellowBright = format("58;5;11", 59);
var underlineBlueBright = format("58;5;12", 59);
var underlineMagentaBright = format("58;5;13", 59);
var underlineCyanBright = format("58;5;14", 59);
var underlineWhiteBright = format("58;5;15", 59);

// node_modules/execa/lib/verbose/default.js
var hasColors2 = process5.env.FORCE_COLOR !== void 0 || process5.stderr.isTTY === true;
var identity = (string) => string;
var getColor = (color) => hasColors2 ? color : identity;
var gray2 = getColor(gray);
var bold2 = getColor(bold);
var redBright2 = getColor(redBright);
var yellowBright2 = getColor(yellowBright);
var defaultVerboseFunction = ({
  type,
  message,
  timestamp,
  piped,
  commandId,
  result: { failed = false } = {},
  options: { reject = true }
}) => {
  const timestampString = serializeTimestamp(timestamp);
  const icon = ICONS[type]({ failed, reject, piped });
  const color = COLORS[type]({ reject });
  return `${gray2(`[${timestampString}]`)} ${gray2(`[${commandId}]`)} ${color(icon)} ${color(message)}`;
};
var serializeTimestamp = (timestamp) => `${padField(timestamp.getHours(), 2)}:${padField(timestamp.getMinutes(), 2)}:${padField(timestamp.getSeconds(), 2)}.${padField(timestamp.getMilliseconds(), 3)}`;
var padField = (field2, padding) => String(field2).padStart(padding, "0");
var getFinalIcon = ({ failed, reject }) => {
  if (!failed) {
    return figures_default.tick;
  }
  return reject ? figures_default.cross : figures_default.warning;
};
var ICONS = {
  command: ({ piped }) => piped ? "|" : "$",
  output: () => " ",
  ipc: () => "*",
  error: getFinalIcon,
  duration: getFinalIcon
};
var COLORS = {
  command: () => bold2,
  output: () => identity,
  ipc: () => identity,
  error: ({ reject }) => reject ? redBright2 : yellowBright2,
  duration: () => gray2
};

// node_modules/execa/lib/verbose/custom.js
var applyVerboseOnLines = (printedLines, verboseInfo, fdNumber) => {
  const verboseFunction = getVerboseFunction(verboseInfo, fdNumber);
  return printedLines.map(({ verboseLine, verboseObject }) => applyVerboseFunction(verboseLine, verboseObject, verboseFunction)).filter((printedLine) => printedLine !== void 0).map((printedLine) => appendNewline(printedLine)).join("");
};
var applyVerboseFunction = (verboseLine, verboseObject, verboseFunction) => {
  if (verboseFunction === void 0) {
    return verboseLine;
  }
  const printedLine = verboseFunction(verboseLine, verboseObject);
  if (typeof printedLine === "string") {
    return printedLine;
  }
};
var appendNewline = (printedLine) => printedLine.endsWith("\n") ? printedLine : `${printedLine}
`;

// node_modules/execa/lib/verbose/log.js
var verboseLog = ({ type, verboseMessage, fdNumber, verboseInfo, result }) => {
  const verboseObject = getVerboseObject({ type, result, verboseInfo });
  const printedLines = getPrintedLines(verboseMessage, verboseObject);
  const finalLines = applyVerboseOnLines(printedLines, verboseInfo, fdNumber);
  if (finalLines !== "") {
    console.warn(finalLines.slice(0, -1));
  }
};
var getVerboseObject = ({ type, result, verboseInfo }) => {
  const { escapedCommand, commandId, rawOptions } = verboseInfo;
  const { piped = false, ...options } = rawOptions;
  return {
    type,
    escapedCommand,
    commandId: `${commandId}`,
    timestamp: /* @__PURE__ */ new Date(),
    piped,
    result,
    options
  };
};
var getPrintedLines = (verboseMessage, verboseObject) => verboseMessage.split("\n").map((message) => getPrintedLine({ ...verboseObject, message }));
var getPrintedLine = (verboseObject) => {
  const verboseLine = defaultVerboseFunction(verboseObject);
  return { verboseLine, verboseObject };
};
var serializeVerboseMessage = (message) => {
  const messageString = typeof message === "string" ? message : inspect(message);
  return escapeLines(messageString);
};

// node_modules/execa/lib/verbose/start.js
var logCommand = (escapedCommand, verboseInfo) => {
  if (!isVerbose(verboseInfo)) {
    return;
  }
  verboseLog({
    type: "command",
    verboseMessage: escapedCommand,
    verboseInfo
  });
};

// node_modules/execa/lib/verbose/info.js
var getVerboseInfo = (verbose, escapedCommand, rawOptions) => {
  validateVerbose(verbose);
  const commandId = getCommandId(verbose);
  return {
    verbose,
    escapedCommand,
    commandId,
    rawOptions
  };
};
var getCommandId = (verbose) => isVerbose({ verbose }) ? COMMAND_ID++ : void 0;
var COMMAND_ID = 0n;
var validateVerbose = (verbose) => {
  for (const fdVerbose of verbose) {
    if (fdVerbose === false) {
      throw new TypeError(`The "verbose: false" option was renamed to "verbose: 'none'".`);
    }
    if (fdVerbose === true) {
      throw new TypeError(`The "verbose: true" option was renamed to "verbose: 'short'".`);
    }
    if (!VERBOSE_VALUES.includes(fdVerbose) && !isVerboseFunction(fdVerbose)) {
      const allowedValues = VERBOSE_VALUES.map((allowedValue) => `'${allowedValue}'`).join(", ");
      throw new TypeError(`The "verbose" option must not be ${fdVerbose}. Allowed values are: ${allowedValues} or a function.`);
    }
  }
};

// node_modules/execa/lib/return/duration.js
import { hrtime } from "node:process";
var getStartTime = () => hrtime.bigint();
var getDurationMs = (startTime) => Number(hrtime.bigint() - startTime) / 1e6;

// node_modules/execa/lib/arguments/command.js
var handleCommand = (filePath, rawArguments, rawOptions) => {
  const startTime = getStartTime();
  const { command, escapedCommand } = joinCommand(filePath, rawArguments, rawOptions.shell && !rawOptions.node);
  const verbose = normalizeFdSpecificOption(rawOptions, "verbose");
  const verboseInfo = getVerboseInfo(verbose, escapedCommand, { __proto__: null, ...rawOptions });
  logCommand(escapedCommand, verboseInfo);
  return {
    command,
    escapedCommand,
    startTime,
    verboseInfo
  };
};

// node_modules/execa/lib/arguments/options.js
import path10 from "node:path";
import process10 from "node:process";

// node_modules/npm-run-path/index.js
import process6 from "node:process";
import path5 from "node:path";

// node_modules/npm-run-path/node_modules/path-key/index.js
function pathKey(options = {}) {
  const {
    env = process.env,
    platform: platform2 = process.platform
  } = options;
  if (platform2 !== "win32") {
    return "PATH";
  }
  return Object.keys(env).reverse().find((key) => key.toUpperCase() === "PATH") || "Path";
}

// node_modules/unicorn-magic/node.js
import { promisify } from "node:util";
import { execFile as execFileCallback, execFileSync as execFileSyncOriginal } from "node:child_process";
import path4 from "node:path";
import { fileURLToPath as fileURLToPath2 } from "node:url";
var execFileOriginal = promisify(execFileCallback);
function toPath(urlOrPath) {
  return urlOrPath instanceof URL ? fileURLToPath2(urlOrPath) : urlOrPath;
}
function traversePathUp(startPath) {
  return {
    *[Symbol.iterator]() {
      let currentPath = path4.resolve(toPath(startPath));
      let previousPath;
      while (previousPath !== currentPath) {
        yield currentPath;
        previousPath = currentPath;
        currentPath = path4.resolve(currentPath, "..");
      }
    }
  };
}
var TEN_MEGABYTES_IN_BYTES = 10 * 1024 * 1024;

// node_modules/npm-run-path/index.js
var npmRunPath = ({
  cwd = process6.cwd(),
  path: pathOption = process6.env[pathKey()],
  preferLocal = true,
  execPath: execPath2 = process6.execPath,
  addExecPath = true
} = {}) => {
  const cwdPath = path5.resolve(toPath(cwd));
  const result = [];
  const pathParts = pathOption.split(path5.delimiter);
  if (preferLocal) {
    applyPreferLocal(result, pathParts, cwdPath);
  }
  if (addExecPath) {
    applyExecPath(result, pathParts, execPath2, cwdPath);
  }
  return pathOption === "" || pathOption === path5.delimiter ? `${result.join(path5.delimiter)}${pathOption}` : [...result, pathOption].join(path5.delimiter);
};
var applyPreferLocal = (result, pathParts, cwdPath) => {
  for (const directory of traversePathUp(cwdPath)) {
    const pathPart = path5.join(directory, "node_modules/.bin");
    if (!pathParts.includes(pathPart)) {
      result.push(pathPart);
    }
  }
};
var applyExecPath = (result, pathParts, execPath2, cwdPath) => {
  const pathPart = path5.resolve(cwdPath, toPath(execPath2), "..");
  if (!pathParts.includes(pathPart)) {
    result.push(pathPart);
  }
};
var npmRunPathEnv = ({ env = process6.env, ...options } = {}) => {
  env = { ...env };
  const pathName = pathKey({ env });
  options.path = env[pathName];
  env[pathName] = npmRunPath(options);
  return env;
};

// node_modules/execa/lib/terminate/kill.js
import { setTimeout as setTimeout3 } from "node:timers/promises";

// node_modules/execa/lib/terminate/signal.js
import { constants as constants3 } from "node:os";

// node_modules/human-signals/build/src/main.js
import { constants as constants2 } from "node:os";

// node_modules/human-signals/build/src/realtime.js
var getRealtimeSignals = () => {
  const length = SIGRTMAX - SIGRTMIN + 1;
  return Array.from({ length }, getRealtimeSignal);
};
var getRealtimeSignal = (value, index) => ({
  name: `SIGRT${index + 1}`,
  number: SIGRTMIN + index,
  action: "terminate",
  description: "Application-specific signal (realtime)",
  standard: "posix"
});
var SIGRTMIN = 34;
var SIGRTMAX = 64;

// node_modules/human-signals/build/src/signals.js
import { constants } from "node:os";

// node_modules/human-signals/build/src/core.js
var SIGNALS = [
  {
    name: "SIGHUP",
    number: 1,
    action: "terminate",
    description: "Terminal closed",
    standard: "posix"
  },
  {
    name: "SIGINT",
    number: 2,
    action: "terminate",
    description: "User interruption with CTRL-C",
    standard: "ansi"
  },
  {
    name: "SIGQUIT",
    number: 3,
    action: "core",
    description: "User interruption with CTRL-\\",
    standard: "posix"
  },
  {
    name: "SIGILL",
    number: 4,
    action: "core",
    description: "Invalid machine instruction",
    standard: "ansi"
  },
  {
    name: "SIGTRAP",
    number: 5,
    action: "core",
    description: "Debugger breakpoint",
    standard: "posix"
  },
  {
    name: "SIGABRT",
    number: 6,
    action: "core",
    description: "Aborted",
    standard: "ansi"
  },
  {
    name: "SIGIOT",
    number: 6,
    action: "core",
    description: "Aborted",
    standard: "bsd"
  },
  {
    name: "SIGBUS",
    number: 7,
    action: "core",
    description: "Bus error due to misaligned, non-existing address or paging error",
    standard: "bsd"
  },
  {
    name: "SIGEMT",
    number: 7,
    action: "terminate",
    description: "Command should be emulated but is not implemented",
    standard: "other"
  },
  {
    name: "SIGFPE",
    number: 8,
    action: "core",
    description: "Floating point arithmetic error",
    standard: "ansi"
  },
  {
    name: "SIGKILL",
    number: 9,
    action: "terminate",
    description: "Forced termination",
    standard: "posix",
    forced: true
  },
  {
    name: "SIGUSR1",
    number: 10,
    action: "terminate",
    description: "Application-specific signal",
    standard: "posix"
  },
  {
    name: "SIGSEGV",
    number: 11,
    action: "core",
    description: "Segmentation fault",
    standard: "ansi"
  },
  {
    name: "SIGUSR2",
    number: 12,
    action: "terminate",
    description: "Application-specific signal",
    standard: "posix"
  },
  {
    name: "SIGPIPE",
    number: 13,
    action: "terminate",
    description: "Broken pipe or socket",
    standard: "posix"
  },
  {
    name: "SIGALRM",
    number: 14,
    action: "terminate",
    description: "Timeout or timer",
    standard: "posix"
  },
  {
    name: "SIGTERM",
    number: 15,
    action: "terminate",
    description: "Termination",
    standard: "ansi"
  },
  {
    name: "SIGSTKFLT",
    number: 16,
    action: "terminate",
    description: "Stack is empty or overflowed",
    standard: "other"
  },
  {
    name: "SIGCHLD",
    number: 17,
    action: "ignore",
    description: "Child process terminated, paused or unpaused",
    standard: "posix"
  },
  {
    name: "SIGCLD",
    number: 17,
    action: "ignore",
    description: "Child process terminated, paused or unpaused",
    standard: "other"
  },
  {
    name: "SIGCONT",
    number: 18,
    action: "unpause",
    description: "Unpaused",
    standard: "posix",
    forced: true
  },
  {
    name: "SIGSTOP",
    number: 19,
    action: "pause",
    description: "Paused",
    standard: "posix",
    forced: true
  },
  {
    name: "SIGTSTP",
    number: 20,
    action: "pause",
    description: 'Paused using CTRL-Z or "suspend"',
    standard: "posix"
  },
  {
    name: "SIGTTIN",
    number: 21,
    action: "pause",
    description: "Background process cannot read terminal input",
    standard: "posix"
  },
  {
    name: "SIGBREAK",
    number: 21,
    action: "terminate",
    description: "User interruption with CTRL-BREAK",
    standard: "other"
  },
  {
    name: "SIGTTOU",
    number: 22,
    action: "pause",
    description: "Background process cannot write to terminal output",
    standard: "posix"
  },
  {
    name: "SIGURG",
    number: 23,
    action: "ignore",
    description: "Socket received out-of-band data",
    standard: "bsd"
  },
  {
    name: "SIGXCPU",
    number: 24,
    action: "core",
    description: "Process timed out",
    standard: "bsd"
  },
  {
    name: "SIGXFSZ",
    number: 25,
    action: "core",
    description: "File too big",
    standard: "bsd"
  },
  {
    name: "SIGVTALRM",
    number: 26,
    action: "terminate",
    description: "Timeout or timer",
    standard: "bsd"
  },
  {
    name: "SIGPROF",
    number: 27,
    action: "terminate",
    description: "Timeout or timer",
    standard: "bsd"
  },
  {
    name: "SIGWINCH",
    number: 28,
    action: "ignore",
    description: "Terminal window size changed",
    standard: "bsd"
  },
  {
    name: "SIGIO",
    number: 29,
    action: "terminate",
    description: "I/O is available",
    standard: "other"
  },
  {
    name: "SIGPOLL",
    number: 29,
    action: "terminate",
    description: "Watched event",
    standard: "other"
  },
  {
    name: "SIGINFO",
    number: 29,
    action: "ignore",
    description: "Request for process information",
    standard: "other"
  },
  {
    name: "SIGPWR",
    number: 30,
    action: "terminate",
    description: "Device running out of power",
    standard: "systemv"
  },
  {
    name: "SIGSYS",
    number: 31,
    action: "core",
    description: "Invalid system call",
    standard: "other"
  },
  {
    name: "SIGUNUSED",
    number: 31,
    action: "terminate",
    description: "Invalid system call",
    standard: "other"
  }
];

// node_modules/human-signals/build/src/signals.js
var getSignals = () => {
  const realtimeSignals = getRealtimeSignals();
  const signals2 = [...SIGNALS, ...realtimeSignals].map(normalizeSignal);
  return signals2;
};
var normalizeSignal = ({
  name,
  number: defaultNumber,
  description,
  action,
  forced = false,
  standard
}) => {
  const {
    signals: { [name]: constantSignal }
  } = constants;
  const supported = constantSignal !== void 0;
  const number = supported ? constantSignal : defaultNumber;
  return { name, number, description, supported, action, forced, standard };
};

// node_modules/human-signals/build/src/main.js
var getSignalsByName = () => {
  const signals2 = getSignals();
  return Object.fromEntries(signals2.map(getSignalByName));
};
var getSignalByName = ({
  name,
  number,
  description,
  supported,
  action,
  forced,
  standard
}) => [name, { name, number, description, supported, action, forced, standard }];
var signalsByName = getSignalsByName();
var getSignalsByNumber = () => {
  const signals2 = getSignals();
  const length = SIGRTMAX + 1;
  const signalsA = Array.from(
    { length },
    (value, number) => getSignalByNumber(number, signals2)
  );
  return Object.assign({}, ...signalsA);
};
var getSignalByNumber = (number, signals2) => {
  const signal = findSignalByNumber(number, signals2);
  if (signal === void 0) {
    return {};
  }
  const { name, description, supported, action, forced, standard } = signal;
  return {
    [number]: {
      name,
      number,
      description,
      supported,
      action,
      forced,
      standard
    }
  };
};
var findSignalByNumber = (number, signals2) => {
  const signal = signals2.find(({ name }) => constants2.signals[name] === number);
  if (signal !== void 0) {
    return signal;
  }
  return signals2.find((signalA) => signalA.number === number);
};
var signalsByNumber = getSignalsByNumber();

// node_modules/execa/lib/terminate/signal.js
var normalizeKillSignal = (killSignal) => {
  const optionName = "option `killSignal`";
  if (killSignal === 0) {
    throw new TypeError(`Invalid ${optionName}: 0 cannot be used.`);
  }
  return normalizeSignal2(killSignal, optionName);
};
var normalizeSignalArgument = (signal) => signal === 0 ? signal : normalizeSignal2(signal, "`subprocess.kill()`'s argument");
var normalizeSignal2 = (signalNameOrInteger, optionName) => {
  if (Number.isInteger(signalNameOrInteger)) {
    return normalizeSignalInteger(signalNameOrInteger, optionName);
  }
  if (typeof signalNameOrInteger === "string") {
    return normalizeSignalName(signalNameOrInteger, optionName);
  }
  throw new TypeError(`Invalid ${optionName} ${String(signalNameOrInteger)}: it must be a string or an integer.
${getAvailableSignals()}`);
};
var normalizeSignalInteger = (signalInteger, optionName) => {
  if (signalsIntegerToName.has(signalInteger)) {
    return signalsIntegerToName.get(signalInteger);
  }
  throw new TypeError(`Invalid ${optionName} ${signalInteger}: this signal integer does not exist.
${getAvailableSignals()}`);
};
var getSignalsIntegerToName = () => new Map(Object.entries(constants3.signals).reverse().map(([signalName, signalInteger]) => [signalInteger, signalName]));
var signalsIntegerToName = getSignalsIntegerToName();
var normalizeSignalName = (signalName, optionName) => {
  if (signalName in constants3.signals) {
    return signalName;
  }
  if (signalName.toUpperCase() in constants3.signals) {
    throw new TypeError(`Invalid ${optionName} '${signalName}': please rename it to '${signalName.toUpperCase()}'.`);
  }
  throw new TypeError(`Invalid ${optionName} '${signalName}': this signal name does not exist.
${getAvailableSignals()}`);
};
var getAvailableSignals = () => `Available signal names: ${getAvailableSignalNames()}.
Available signal numbers: ${getAvailableSignalIntegers()}.`;
var getAvailableSignalNames = () => Object.keys(constants3.signals).sort().map((signalName) => `'${signalName}'`).join(", ");
var getAvailableSignalIntegers = () => [...new Set(Object.values(constants3.signals).sort((signalInteger, signalIntegerTwo) => signalInteger - signalIntegerTwo))].join(", ");
var getSignalDescription = (signal) => signalsByName[signal].description;

// node_modules/execa/lib/terminate/timeout.js
import { setTimeout as setTimeout2 } from "node:timers/promises";
var validateTimeout = ({ timeout }) => {
  if (timeout !== void 0) {
    validateDelay(timeout, "timeout");
  }
};
var validateDelay = (delay, optionName) => {
  if (!Number.isInteger(delay) || delay < 0 || delay > MAX_DELAY) {
    throw new TypeError(`Expected the \`${optionName}\` option to be a non-negative integer up to ${MAX_DELAY}, got \`${delay}\` (${getTypeName(delay)})`);
  }
};
var MAX_DELAY = 2 ** 31 - 1;
var throwOnTimeout = (kill, timeout, context, controller) => timeout === 0 || timeout === void 0 ? [] : [killAfterTimeout(kill, timeout, context, controller)];
var killAfterTimeout = async (kill, timeout, context, { signal }) => {
  await setTimeout2(timeout, void 0, { signal });
  context.terminationReason ??= "timeout";
  kill();
  throw new DiscardedError();
};

// node_modules/execa/lib/terminate/kill.js
var normalizeForceKillAfterDelay = (forceKillAfterDelay) => {
  if (forceKillAfterDelay === false) {
    return forceKillAfterDelay;
  }
  if (forceKillAfterDelay === true) {
    return DEFAULT_FORCE_KILL_TIMEOUT;
  }
  validateDelay(forceKillAfterDelay, "forceKillAfterDelay");
  return forceKillAfterDelay;
};
var DEFAULT_FORCE_KILL_TIMEOUT = 1e3 * 5;
var subprocessKill = ({ kill, options: { forceKillAfterDelay, killSignal }, onInternalError, context, controller }, signalOrError, errorArgument) => {
  const { signal, error } = parseKillArguments(signalOrError, errorArgument, killSignal);
  emitKillError(error, onInternalError);
  const killResult = kill(signal);
  setKillTimeout({
    kill,
    signal,
    forceKillAfterDelay,
    killSignal,
    killResult,
    context,
    controller
  });
  return killResult;
};
var parseKillArguments = (signalOrError, errorArgument, killSignal) => {
  const [signal = killSignal, error] = isErrorInstance(signalOrError) ? [void 0, signalOrError] : [signalOrError, errorArgument];
  if (typeof signal !== "string" && !Number.isInteger(signal)) {
    throw new TypeError(`The first argument must be an error instance or a signal name string/integer: ${String(signal)}`);
  }
  if (error !== void 0 && !isErrorInstance(error)) {
    throw new TypeError(`The second argument is optional. If specified, it must be an error instance: ${error}`);
  }
  return { signal: normalizeSignalArgument(signal), error };
};
var emitKillError = (error, onInternalError) => {
  if (error !== void 0) {
    onInternalError.reject(error);
  }
};
var setKillTimeout = async ({ kill, signal, forceKillAfterDelay, killSignal, killResult, context, controller }) => {
  if (signal === killSignal && killResult) {
    killOnTimeout({
      kill,
      forceKillAfterDelay,
      context,
      controllerSignal: controller.signal
    });
  }
};
var killOnTimeout = async ({ kill, forceKillAfterDelay, context, controllerSignal }) => {
  if (forceKillAfterDelay === false) {
    return;
  }
  try {
    await setTimeout3(forceKillAfterDelay, void 0, { signal: controllerSignal });
    if (kill("SIGKILL")) {
      context.isForcefullyTerminated ??= true;
    }
  } catch {
  }
};

// node_modules/execa/lib/utils/abort-signal.js
import { once } from "node:events";
var onAbortedSignal = async (mainSignal, stopSignal) => {
  if (!mainSignal.aborted) {
    await once(mainSignal, "abort", { signal: stopSignal });
  }
};
var validateAbortSignal = (signal, optionName) => {
  if (signal !== void 0 && Object.prototype.toString.call(signal) !== "[object AbortSignal]") {
    throw new TypeError(`The \`${optionName}\` option must be an AbortSignal: ${String(signal)}.`);
  }
};

// node_modules/execa/lib/terminate/cancel.js
var validateCancelSignal = ({ cancelSignal }) => {
  validateAbortSignal(cancelSignal, "cancelSignal");
};
var validateRenamedSignalOption = ({ signal }) => {
  if (signal !== void 0) {
    throw new TypeError('The "signal" option has been renamed to "cancelSignal" instead.');
  }
};
var throwOnCancel = ({ kill, cancelSignal, gracefulCancel, context, controller }) => cancelSignal === void 0 || gracefulCancel ? [] : [terminateOnCancel(kill, cancelSignal, context, controller)];
var terminateOnCancel = async (kill, cancelSignal, context, { signal }) => {
  await onAbortedSignal(cancelSignal, signal);
  context.terminationReason ??= "cancel";
  kill();
  throw cancelSignal.reason;
};

// node_modules/execa/lib/ipc/graceful.js
import { scheduler as scheduler2 } from "node:timers/promises";

// node_modules/execa/lib/ipc/send.js
import { promisify as promisify2 } from "node:util";

// node_modules/execa/lib/ipc/validation.js
import { inspect as inspect2 } from "node:util";
var validateIpcMethod = ({ methodName, isSubprocess, ipc, isConnected: isConnected2 }) => {
  validateIpcOption(methodName, isSubprocess, ipc);
  validateConnection(methodName, isSubprocess, isConnected2);
};
var validateIpcOption = (methodName, isSubprocess, ipc) => {
  if (!ipc) {
    throw new Error(`${getMethodName(methodName, isSubprocess)} can only be used if the \`ipc\` option is \`true\`.`);
  }
};
var validateConnection = (methodName, isSubprocess, isConnected2) => {
  if (!isConnected2) {
    throw new Error(`${getMethodName(methodName, isSubprocess)} cannot be used: the ${getOtherProcessName(isSubprocess)} has already exited or disconnected.`);
  }
};
var throwOnEarlyDisconnect = (isSubprocess) => {
  throw new Error(`${getMethodName("getOneMessage", isSubprocess)} could not complete: the ${getOtherProcessName(isSubprocess)} exited or disconnected.`);
};
var throwOnStrictDeadlockError = (isSubprocess) => {
  throw new Error(`${getMethodName("sendMessage", isSubprocess)} failed: the ${getOtherProcessName(isSubprocess)} is sending a message too, instead of listening to incoming messages.
This can be fixed by both sending a message and listening to incoming messages at the same time:

const [receivedMessage] = await Promise.all([
	${getMethodName("getOneMessage", isSubprocess)},
	${getMethodName("sendMessage", isSubprocess, "message, {strict: true}")},
]);`);
};
var getStrictResponseError = (error, isSubprocess) => new Error(`${getMethodName("sendMessage", isSubprocess)} failed when sending an acknowledgment response to the ${getOtherProcessName(isSubprocess)}.`, { cause: error });
var throwOnMissingStrict = (isSubprocess) => {
  throw new Error(`${getMethodName("sendMessage", isSubprocess)} failed: the ${getOtherProcessName(isSubprocess)} is not listening to incoming messages.`);
};
var throwOnStrictDisconnect = (isSubprocess) => {
  throw new Error(`${getMethodName("sendMessage", isSubprocess)} failed: the ${getOtherProcessName(isSubprocess)} exited without listening to incoming messages.`);
};
var getAbortDisconnectError = () => new Error(`\`cancelSignal\` aborted: the ${getOtherProcessName(true)} disconnected.`);
var throwOnMissingParent = () => {
  throw new Error("`getCancelSignal()` cannot be used without setting the `gracefulCancel` option to `true`.");
};
var handleEpipeError = ({ error, methodName, isSubprocess }) => {
  if (error.code === "EPIPE") {
    throw new Error(`${getMethodName(methodName, isSubprocess)} cannot be used: the ${getOtherProcessName(isSubprocess)} is disconnecting.`, { cause: error });
  }
};
var handleSerializationError = ({ error, methodName, isSubprocess, message }) => {
  if (isSerializationError(error)) {
    throw new Error(`${getMethodName(methodName, isSubprocess)}'s argument type is invalid: the message cannot be serialized: ${serializeInvalidMessage(message)}.`, { cause: error });
  }
};
var serializeInvalidMessage = (message) => {
  try {
    return String(message);
  } catch {
    return inspect2(message);
  }
};
var isSerializationError = ({ code: code2, message }) => SERIALIZATION_ERROR_CODES.has(code2) || SERIALIZATION_ERROR_MESSAGES.some((serializationErrorMessage) => message.includes(serializationErrorMessage));
var SERIALIZATION_ERROR_CODES = /* @__PURE__ */ new Set([
  // Message is `undefined`
  "ERR_MISSING_ARGS",
  // Message is a function, a bigint, a symbol
  "ERR_INVALID_ARG_TYPE"
]);
var SERIALIZATION_ERROR_MESSAGES = [
  // Message is a promise or a proxy, with `serialization: 'advanced'`
  "could not be cloned",
  // Message has cycles, with `serialization: 'json'`
  "circular structure",
  // Message has cycles inside toJSON(), with `serialization: 'json'`
  "call stack size exceeded"
];
var getMethodName = (methodName, isSubprocess, parameters = "") => methodName === "cancelSignal" ? "`cancelSignal`'s `controller.abort()`" : `${getNamespaceName(isSubprocess)}${methodName}(${parameters})`;
var getNamespaceName = (isSubprocess) => isSubprocess ? "" : "subprocess.";
var getOtherProcessName = (isSubprocess) => isSubprocess ? "parent process" : "subprocess";
var disconnect = (anyProcess) => {
  if (anyProcess.connected) {
    anyProcess.disconnect();
  }
};

// node_modules/execa/lib/utils/deferred.js
var createDeferred = () => {
  const methods = {};
  const promise = new Promise((resolve, reject) => {
    Object.assign(methods, { resolve, reject });
  });
  return Object.assign(promise, methods);
};

// node_modules/execa/lib/ipc/strict.js
import { once as once3 } from "node:events";

// node_modules/execa/lib/utils/max-listeners.js
import { addAbortListener } from "node:events";
var incrementMaxListeners = (eventEmitter, maxListenersIncrement, signal) => {
  const maxListeners = eventEmitter.getMaxListeners();
  if (maxListeners === 0 || maxListeners === Infinity) {
    return;
  }
  eventEmitter.setMaxListeners(maxListeners + maxListenersIncrement);
  addAbortListener(signal, () => {
    eventEmitter.setMaxListeners(eventEmitter.getMaxListeners() - maxListenersIncrement);
  });
};

// node_modules/execa/lib/ipc/forward.js
import { EventEmitter as EventEmitter2 } from "node:events";

// node_modules/execa/lib/ipc/incoming.js
import { once as once2 } from "node:events";
import { scheduler } from "node:timers/promises";

// node_modules/execa/lib/ipc/reference.js
var addReference = (channel, reference) => {
  if (reference) {
    addReferenceCount(channel);
  }
};
var addReferenceCount = (channel) => {
  channel.refCounted();
};
var removeReference = (channel, reference) => {
  if (reference) {
    removeReferenceCount(channel);
  }
};
var removeReferenceCount = (channel) => {
  channel.unrefCounted();
};
var undoAddedReferences = (channel, isSubprocess) => {
  if (!isSubprocess) {
    return;
  }
  removeReferenceCount(channel);
  removeReferenceCount(channel);
};
var redoAddedReferences = (channel, isSubprocess) => {
  if (!isSubprocess) {
    return;
  }
  addReferenceCount(channel);
  addReferenceCount(channel);
};

// node_modules/execa/lib/ipc/incoming.js
var onMessage = async ({ anyProcess, channel, isSubprocess, ipcEmitter }, wrappedMessage) => {
  if (handleStrictResponse(wrappedMessage, anyProcess) || isSubprocess && handleAbort(wrappedMessage)) {
    return;
  }
  if (!INCOMING_MESSAGES.has(anyProcess)) {
    INCOMING_MESSAGES.set(anyProcess, []);
  }
  const incomingMessages = INCOMING_MESSAGES.get(anyProcess);
  incomingMessages.push(wrappedMessage);
  if (incomingMessages.length > 1) {
    return;
  }
  while (incomingMessages.length > 0) {
    await waitForOutgoingMessages(anyProcess, ipcEmitter, incomingMessages[0]);
    await scheduler.yield();
    const message = await handleStrictRequest({
      wrappedMessage: incomingMessages[0],
      anyProcess,
      channel,
      isSubprocess,
      ipcEmitter
    });
    incomingMessages.shift();
    ipcEmitter.emit("message", message);
    ipcEmitter.emit("message:done");
  }
};
var onDisconnect = async ({ anyProcess, channel, isSubprocess, ipcEmitter, boundOnMessage }) => {
  if (isSubprocess) {
    abortOnDisconnect();
  }
  const incomingMessages = INCOMING_MESSAGES.get(anyProcess);
  while (incomingMessages?.length > 0) {
    await once2(ipcEmitter, "message:done");
  }
  anyProcess.removeListener("message", boundOnMessage);
  redoAddedReferences(channel, isSubprocess);
  ipcEmitter.connected = false;
  ipcEmitter.emit("disconnect");
};
var INCOMING_MESSAGES = /* @__PURE__ */ new WeakMap();

// node_modules/execa/lib/ipc/forward.js
var getIpcEmitter = (anyProcess, channel, isSubprocess) => {
  if (IPC_EMITTERS.has(anyProcess)) {
    return IPC_EMITTERS.get(anyProcess);
  }
  const ipcEmitter = new EventEmitter2();
  ipcEmitter.setMaxListeners(0);
  ipcEmitter.connected = true;
  IPC_EMITTERS.set(anyProcess, ipcEmitter);
  forwardEvents({
    ipcEmitter,
    anyProcess,
    channel,
    isSubprocess
  });
  return ipcEmitter;
};
var IPC_EMITTERS = /* @__PURE__ */ new WeakMap();
var forwardEvents = ({ ipcEmitter, anyProcess, channel, isSubprocess }) => {
  const boundOnMessage = onMessage.bind(void 0, {
    anyProcess,
    channel,
    isSubprocess,
    ipcEmitter
  });
  anyProcess.on("message", boundOnMessage);
  anyProcess.once("disconnect", onDisconnect.bind(void 0, {
    anyProcess,
    channel,
    isSubprocess,
    ipcEmitter,
    boundOnMessage
  }));
  undoAddedReferences(channel, isSubprocess);
};
var isConnected = (anyProcess) => {
  const ipcEmitter = IPC_EMITTERS.get(anyProcess);
  return ipcEmitter === void 0 ? anyProcess.channel !== void 0 && anyProcess.channel !== null : ipcEmitter.connected;
};

// node_modules/execa/lib/ipc/strict.js
var handleSendStrict = ({ anyProcess, channel, isSubprocess, message, strict }) => {
  if (!strict) {
    return message;
  }
  const ipcEmitter = getIpcEmitter(anyProcess, channel, isSubprocess);
  const hasListeners = hasMessageListeners(anyProcess, ipcEmitter);
  return {
    id: count++,
    type: REQUEST_TYPE,
    message,
    hasListeners
  };
};
var count = 0;
var validateStrictDeadlock = (outgoingMessages, wrappedMessage) => {
  if (!isStrictRequest(wrappedMessage) || wrappedMessage.hasListeners) {
    return;
  }
  for (const { id } of outgoingMessages) {
    if (id !== void 0) {
      STRICT_RESPONSES[id].deferred.resolve({ isDeadlock: true, hasListeners: false });
    }
  }
};
var handleStrictRequest = async ({ wrappedMessage, anyProcess, channel, isSubprocess, ipcEmitter }) => {
  if (!isStrictRequest(wrappedMessage)) {
    return wrappedMessage;
  }
  const { id, message } = wrappedMessage;
  if (!anyProcess.connected) {
    return message;
  }
  const response = { id, type: RESPONSE_TYPE, message: hasMessageListeners(anyProcess, ipcEmitter) };
  try {
    await sendMessage({
      anyProcess,
      channel,
      isSubprocess,
      ipc: true
    }, response);
  } catch (error) {
    if (error.cause?.code !== "EPIPE") {
      ipcEmitter.emit("strict:error", error);
    }
  }
  return message;
};
var handleStrictResponse = (wrappedMessage, anyProcess) => {
  if (wrappedMessage?.type !== RESPONSE_TYPE) {
    return false;
  }
  const { id, message: hasListeners } = wrappedMessage;
  const strictResponse = STRICT_RESPONSES[id];
  if (strictResponse?.anyProcess === anyProcess) {
    strictResponse.deferred.resolve({ isDeadlock: false, hasListeners });
  }
  return true;
};
var waitForStrictResponse = async (wrappedMessage, anyProcess, isSubprocess) => {
  const deferred = createDeferred();
  STRICT_RESPONSES[wrappedMessage.id] = { deferred, anyProcess };
  const controller = new AbortController();
  try {
    const { isDeadlock, hasListeners } = await Promise.race([
      deferred,
      throwOnDisconnect(anyProcess, isSubprocess, controller)
    ]);
    if (isDeadlock) {
      throwOnStrictDeadlockError(isSubprocess);
    }
    if (!hasListeners) {
      throwOnMissingStrict(isSubprocess);
    }
  } finally {
    controller.abort();
    delete STRICT_RESPONSES[wrappedMessage.id];
  }
};
var STRICT_RESPONSES = { __proto__: null };
var throwOnDisconnect = async (anyProcess, isSubprocess, { signal }) => {
  incrementMaxListeners(anyProcess, 1, signal);
  await once3(anyProcess, "disconnect", { signal });
  throwOnStrictDisconnect(isSubprocess);
};
var REQUEST_TYPE = "execa:ipc:request";
var RESPONSE_TYPE = "execa:ipc:response";
var isStrictRequest = (wrappedMessage) => wrappedMessage?.type === REQUEST_TYPE && Number.isInteger(wrappedMessage.id) && typeof wrappedMessage.hasListeners === "boolean";

// node_modules/execa/lib/ipc/outgoing.js
var startSendMessage = (anyProcess, wrappedMessage, strict) => {
  if (!OUTGOING_MESSAGES.has(anyProcess)) {
    OUTGOING_MESSAGES.set(anyProcess, /* @__PURE__ */ new Set());
  }
  const outgoingMessages = OUTGOING_MESSAGES.get(anyProcess);
  const onMessageSent = createDeferred();
  const id = strict ? wrappedMessage.id : void 0;
  const outgoingMessage = { onMessageSent, id };
  outgoingMessages.add(outgoingMessage);
  return { outgoingMessages, outgoingMessage };
};
var endSendMessage = ({ outgoingMessages, outgoingMessage }) => {
  outgoingMessages.delete(outgoingMessage);
  outgoingMessage.onMessageSent.resolve();
};
var waitForOutgoingMessages = async (anyProcess, ipcEmitter, wrappedMessage) => {
  while (!hasMessageListeners(anyProcess, ipcEmitter) && OUTGOING_MESSAGES.get(anyProcess)?.size > 0) {
    const outgoingMessages = [...OUTGOING_MESSAGES.get(anyProcess)];
    validateStrictDeadlock(outgoingMessages, wrappedMessage);
    await Promise.all(outgoingMessages.map(({ onMessageSent }) => onMessageSent));
  }
};
var OUTGOING_MESSAGES = /* @__PURE__ */ new WeakMap();
var IPC_SUBPROCESS_OPTIONS = /* @__PURE__ */ new WeakMap();
var setIpcSubprocessOptions = (subprocess, options) => {
  IPC_SUBPROCESS_OPTIONS.set(subprocess, options);
};
var hasMessageListeners = (anyProcess, ipcEmitter) => ipcEmitter.listenerCount("message") > getMinListenerCount(anyProcess);
var getMinListenerCount = (anyProcess) => getOptions(anyProcess) !== void 0 && !getFdSpecificValue(getOptions(anyProcess).buffer, "ipc") ? 1 : 0;
var getOptions = (anyProcess) => IPC_SUBPROCESS_OPTIONS.get(anyProcess);

// node_modules/execa/lib/ipc/send.js
var sendMessage = ({ anyProcess, channel, isSubprocess, ipc }, message, options) => {
  const { strict = false } = copyOptions(options);
  checkBooleanOption(strict, "strict");
  const methodName = "sendMessage";
  validateIpcMethod({
    methodName,
    isSubprocess,
    ipc,
    isConnected: anyProcess.connected
  });
  return sendMessageAsync({
    anyProcess,
    channel,
    methodName,
    isSubprocess,
    message,
    strict
  });
};
var sendMessageAsync = async ({ anyProcess, channel, methodName, isSubprocess, message, strict }) => {
  const wrappedMessage = handleSendStrict({
    anyProcess,
    channel,
    isSubprocess,
    message,
    strict
  });
  const outgoingMessagesState = startSendMessage(anyProcess, wrappedMessage, strict);
  try {
    await sendOneMessage({
      anyProcess,
      methodName,
      isSubprocess,
      wrappedMessage,
      message,
      strict
    });
  } catch (error) {
    disconnect(anyProcess);
    throw error;
  } finally {
    endSendMessage(outgoingMessagesState);
  }
};
var sendOneMessage = async ({ anyProcess, methodName, isSubprocess, wrappedMessage, message, strict = false }) => {
  const sendMethod = getSendMethod(anyProcess);
  try {
    await Promise.all([
      // Only messages sent with the `strict` option wait for an acknowledgment response
      strict ? waitForStrictResponse(wrappedMessage, anyProcess, isSubprocess) : void 0,
      sendMethod(wrappedMessage)
    ]);
  } catch (error) {
    handleEpipeError({ error, methodName, isSubprocess });
    handleSerializationError({
      error,
      methodName,
      isSubprocess,
      message
    });
    throw error;
  }
};
var getSendMethod = (anyProcess) => {
  if (PROCESS_SEND_METHODS.has(anyProcess)) {
    return PROCESS_SEND_METHODS.get(anyProcess);
  }
  const sendMethod = promisify2(anyProcess.send.bind(anyProcess));
  PROCESS_SEND_METHODS.set(anyProcess, sendMethod);
  return sendMethod;
};
var PROCESS_SEND_METHODS = /* @__PURE__ */ new WeakMap();

// node_modules/execa/lib/ipc/graceful.js
var sendAbort = (subprocess, message) => {
  const methodName = "cancelSignal";
  validateConnection(methodName, false, subprocess.connected);
  return sendOneMessage({
    anyProcess: subprocess,
    methodName,
    isSubprocess: false,
    wrappedMessage: { type: GRACEFUL_CANCEL_TYPE, message },
    message
  });
};
var getCancelSignal = async ({ anyProcess, channel, isSubprocess, ipc }) => {
  await startIpc({
    anyProcess,
    channel,
    isSubprocess,
    ipc
  });
  return cancelController.signal;
};
var startIpc = async ({ anyProcess, channel, isSubprocess, ipc }) => {
  if (isCancelListening) {
    return;
  }
  if (!ipc) {
    throwOnMissingParent();
    return;
  }
  isCancelListening = true;
  if (!anyProcess.connected) {
    abortOnDisconnect();
    return;
  }
  getIpcEmitter(anyProcess, channel, isSubprocess);
  await scheduler2.yield();
};
var isCancelListening = false;
var handleAbort = (wrappedMessage) => {
  if (wrappedMessage?.type !== GRACEFUL_CANCEL_TYPE) {
    return false;
  }
  cancelController.abort(wrappedMessage.message);
  return true;
};
var GRACEFUL_CANCEL_TYPE = "execa:ipc:cancel";
var abortOnDisconnect = () => {
  cancelController.abort(getAbortDisconnectError());
};
var cancelController = new AbortController();

// node_modules/execa/lib/terminate/graceful.js
var validateGracefulCancel = ({ gracefulCancel, cancelSignal, ipc, serialization }) => {
  if (!gracefulCancel) {
    return;
  }
  if (cancelSignal === void 0) {
    throw new Error("The `cancelSignal` option must be defined when setting the `gracefulCancel` option.");
  }
  if (!ipc) {
    throw new Error("The `ipc` option cannot be false when setting the `gracefulCancel` option.");
  }
  if (serialization === "json") {
    throw new Error("The `serialization` option cannot be 'json' when setting the `gracefulCancel` option.");
  }
};
var throwOnGracefulCancel = ({
  subprocess,
  kill,
  cancelSignal,
  gracefulCancel,
  forceKillAfterDelay,
  context,
  controller
}) => gracefulCancel ? [sendOnAbort({
  subprocess,
  kill,
  cancelSignal,
  forceKillAfterDelay,
  context,
  controller
})] : [];
var sendOnAbort = async ({ subprocess, kill, cancelSignal, forceKillAfterDelay, context, controller: { signal } }) => {
  await onAbortedSignal(cancelSignal, signal);
  const reason = getReason(cancelSignal);
  await sendAbort(subprocess, reason);
  killOnTimeout({
    kill,
    forceKillAfterDelay,
    context,
    controllerSignal: signal
  });
  context.terminationReason ??= "gracefulCancel";
  throw cancelSignal.reason;
};
var getReason = ({ reason }) => {
  if (!(reason instanceof DOMException)) {
    return reason;
  }
  const error = new Error(reason.message);
  Object.defineProperty(error, "stack", {
    value: reason.stack,
    enumerable: false,
    configurable: true,
    writable: true
  });
  return error;
};

// node_modules/execa/lib/methods/node.js
import { execPath, execArgv } from "node:process";
import path6 from "node:path";
var mapNode = ({ options }) => {
  if (options.node === false) {
    throw new TypeError('The "node" option cannot be false with `execaNode()`.');
  }
  return { options: { __proto__: null, ...options, node: true } };
};
var getDefaultNodeOptions = () => {
  const nodeOptions = [];
  for (let index = 0; index < execArgv.length; index += 1) {
    const nodeOption = execArgv[index];
    if (REMOVED_OPTIONS_WITH_VALUE.has(nodeOption)) {
      if (!execArgv[index + 1]?.startsWith("-")) {
        index += 1;
      }
    } else if (!IGNORED_OPTIONS_REGEXP.test(nodeOption)) {
      nodeOptions.push(nodeOption);
    }
  }
  return nodeOptions;
};
var REMOVED_OPTIONS_WITH_VALUE = /* @__PURE__ */ new Set(["-e", "--eval", "-p", "--print", "-pe", "--input-type", "--inspect-port"]);
var IGNORED_OPTIONS_REGEXP = /^--(?:inspect|eval=|print=|input-type=)/;
var handleNodeOption = (file, commandArguments, {
  node: shouldHandleNode = false,
  nodePath = execPath,
  nodeOptions = getDefaultNodeOptions(),
  cwd,
  execPath: formerNodePath,
  ...options
}) => {
  if (formerNodePath !== void 0) {
    throw new TypeError('The "execPath" option has been removed. Please use the "nodePath" option instead.');
  }
  if (!Array.isArray(nodeOptions) || nodeOptions.some((nodeOption) => typeof nodeOption !== "string")) {
    throw new TypeError('The "nodeOptions" option must be an array of strings.');
  }
  const normalizedNodePath = safeNormalizeFileUrl(nodePath, 'The "nodePath" option');
  const resolvedNodePath = path6.resolve(cwd, normalizedNodePath);
  const newOptions = {
    __proto__: null,
    shell: false,
    ...options,
    nodePath: resolvedNodePath,
    node: shouldHandleNode,
    cwd
  };
  if (!shouldHandleNode) {
    return [file, commandArguments, newOptions];
  }
  if (path6.basename(file, ".exe") === "node") {
    throw new TypeError('When the "node" option is true, the first argument does not need to be "node".');
  }
  return [
    resolvedNodePath,
    [
      ...nodeOptions,
      file,
      ...commandArguments
    ],
    {
      __proto__: null,
      ...newOptions,
      // Like other options, `undefined` uses the default value
      ipc: newOptions.ipc === void 0 ? true : newOptions.ipc,
      shell: false
    }
  ];
};

// node_modules/execa/lib/ipc/ipc-input.js
import { serialize } from "node:v8";
var validateIpcInputOption = ({ ipcInput, ipc, serialization }) => {
  if (ipcInput === void 0) {
    return;
  }
  if (!ipc) {
    throw new Error("The `ipcInput` option cannot be set unless the `ipc` option is `true`.");
  }
  validateIpcInput[serialization]?.(ipcInput);
};
var validateAdvancedInput = (ipcInput) => {
  try {
    serialize(ipcInput);
  } catch (error) {
    throw new Error("The `ipcInput` option is not serializable with a structured clone.", { cause: error });
  }
};
var validateJsonInput = (ipcInput) => {
  try {
    if (JSON.stringify(ipcInput) === void 0) {
      throw new TypeError("The value cannot be represented as JSON.");
    }
  } catch (error) {
    throw new Error("The `ipcInput` option is not serializable with JSON.", { cause: error });
  }
};
var validateIpcInput = {
  __proto__: null,
  advanced: validateAdvancedInput,
  json: validateJsonInput
};
var sendIpcInput = async (subprocess, ipcInput, ipc) => {
  if (ipcInput === void 0) {
    return;
  }
  await sendMessage({
    anyProcess: subprocess,
    channel: subprocess.channel,
    isSubprocess: false,
    ipc
  }, ipcInput);
};

// node_modules/execa/lib/arguments/encoding-option.js
var validateEncoding = ({ encoding }) => {
  if (ENCODINGS.has(encoding)) {
    return;
  }
  const correctEncoding = getCorrectEncoding(encoding);
  if (correctEncoding !== void 0) {
    throw new TypeError(`Invalid option \`encoding: ${serializeEncoding(encoding)}\`.
Please rename it to ${serializeEncoding(correctEncoding)}.`);
  }
  const correctEncodings = [...ENCODINGS].map((correctEncoding2) => serializeEncoding(correctEncoding2)).join(", ");
  throw new TypeError(`Invalid option \`encoding: ${serializeEncoding(encoding)}\`.
Please rename it to one of: ${correctEncodings}.`);
};
var TEXT_ENCODINGS = /* @__PURE__ */ new Set(["utf8", "utf16le"]);
var BINARY_ENCODINGS = /* @__PURE__ */ new Set(["buffer", "hex", "base64", "base64url", "latin1", "ascii"]);
var ENCODINGS = TEXT_ENCODINGS.union(BINARY_ENCODINGS);
var getStringEncoding = (binary, encoding) => binary || !TEXT_ENCODINGS.has(encoding) ? "utf8" : encoding;
var getInputEncoding = (encoding) => TEXT_ENCODINGS.has(encoding) ? "utf8" : encoding;
var getCorrectEncoding = (encoding) => {
  if (encoding === null) {
    return "buffer";
  }
  if (typeof encoding !== "string") {
    return;
  }
  const lowerEncoding = encoding.toLowerCase();
  if (lowerEncoding in ENCODING_ALIASES) {
    return ENCODING_ALIASES[lowerEncoding];
  }
  if (ENCODINGS.has(lowerEncoding)) {
    return lowerEncoding;
  }
};
var ENCODING_ALIASES = {
  __proto__: null,
  // eslint-disable-next-line unicorn/text-encoding-identifier-case
  "utf-8": "utf8",
  "utf-16le": "utf16le",
  "ucs-2": "utf16le",
  ucs2: "utf16le",
  binary: "latin1"
};
var serializeEncoding = (encoding) => typeof encoding === "string" ? `"${encoding}"` : String(encoding);

// node_modules/execa/lib/arguments/command-file.js
import { openSync, readSync, closeSync } from "node:fs";
import { Buffer as Buffer2 } from "node:buffer";
import path8 from "node:path";
import process8 from "node:process";

// node_modules/which-command/index.js
import fs2 from "node:fs";
import path7 from "node:path";
import process7 from "node:process";
var isWindows = process7.platform === "win32";
var separatorPattern = isWindows ? new RegExp("[\\/\\\\]", "v") : new RegExp("\\/", "v");
var defaultPathExt = ".COM;.EXE;.BAT;.CMD;.VBS;.VBE;.JS;.JSE;.WSF;.WSH;.MSC";
function resolveOptions(command, options) {
  if (typeof command !== "string" || command.length === 0) {
    throw new TypeError("Expected a non-empty string.");
  }
  const {
    cwd = process7.cwd(),
    // On Windows, `process.env.PATH` can be undefined in some contexts (for example, worker threads), where it's only exposed as `Path`.
    path: searchPath = process7.env.PATH ?? (isWindows ? process7.env.Path : void 0) ?? "",
    // `||` (not `??`) so an empty `PATHEXT` falls back to the default instead of disabling all lookup on Windows.
    pathExt = process7.env.PATHEXT || defaultPathExt
  } = options;
  return { cwd, searchPath, pathExt };
}
function windowsExtensions(command, pathExt) {
  const extensions = pathExt.split(path7.delimiter).filter(Boolean);
  const commandExtension = path7.extname(command).toLowerCase();
  if (commandExtension !== "" && extensions.some((extension) => extension.toLowerCase() === commandExtension)) {
    return ["", ...extensions];
  }
  return extensions;
}
function* candidatePaths(command, { cwd, searchPath, pathExt }) {
  const extensions = isWindows ? windowsExtensions(command, pathExt) : [""];
  if (separatorPattern.test(command)) {
    const base = path7.resolve(cwd, command);
    for (const extension of extensions) {
      yield base + extension;
    }
    return;
  }
  const directories = [
    // Windows searches the current directory before `PATH`.
    ...isWindows ? [cwd] : [],
    ...searchPath.split(path7.delimiter)
  ];
  for (const directory of directories) {
    const unquoted = isWindows && directory.length > 1 && directory.startsWith('"') && directory.endsWith('"') ? directory.slice(1, -1) : directory;
    if (unquoted === "") {
      continue;
    }
    const base = path7.resolve(cwd, unquoted, command);
    for (const extension of extensions) {
      yield base + extension;
    }
  }
}
function isExecutableSync(filePath) {
  let stats;
  try {
    stats = fs2.statSync(filePath);
  } catch (error) {
    return isWindows && error.code === "EACCES";
  }
  if (!stats.isFile()) {
    return false;
  }
  if (isWindows) {
    return true;
  }
  try {
    fs2.accessSync(filePath, fs2.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
function whichCommandSync(command, options = {}) {
  const resolved = resolveOptions(command, options);
  for (const candidate of candidatePaths(command, resolved)) {
    if (isExecutableSync(candidate)) {
      return candidate;
    }
  }
  return void 0;
}

// node_modules/execa/lib/arguments/command-file.js
var parseCommandFile = (file, commandArguments, options) => {
  const parsed = { file, commandArguments: [...commandArguments], options };
  return options.shell || process8.platform !== "win32" ? parsed : escapeWindowsCommand(parsed);
};
var directlyExecutableRegExp = /\.(?:com|exe)$/i;
var escapeWindowsCommand = (parsed) => {
  const resolvedFile = resolveWithShebang(parsed);
  if (resolvedFile !== void 0 && directlyExecutableRegExp.test(resolvedFile)) {
    if (parsed.options.argv0 === void 0) {
      parsed.options.argv0 = parsed.file;
    }
    parsed.file = resolvedFile;
    return parsed;
  }
  for (const value of [parsed.file, ...parsed.commandArguments]) {
    assertNoLineBreak(value);
  }
  const escapedFile = escapeMetaChars(path8.normalize(resolvedFile ?? parsed.file));
  const escapedArguments = parsed.commandArguments.map((argument) => escapeArgument(argument));
  const commandLine = `"${[escapedFile, ...escapedArguments].join(" ")}"`;
  parsed.options.windowsVerbatimArguments = true;
  return {
    file: process8.env.comspec || "cmd.exe",
    // `/e:on` enables the command extensions the `%` escaping relies on, and `/v:off` disables delayed expansion so `!` is literal, even when the registry changes either default
    commandArguments: ["/d", "/e:on", "/v:off", "/s", "/c", commandLine],
    options: parsed.options
  };
};
var resolveWithShebang = (parsed) => {
  const resolvedFile = resolvePath(parsed);
  const interpreter = resolvedFile !== void 0 && readShebang(resolvedFile);
  if (!interpreter) {
    return resolvedFile;
  }
  parsed.commandArguments.unshift(resolvedFile);
  parsed.file = interpreter;
  return resolvePath(parsed);
};
var resolvePath = (parsed) => {
  const environment = parsed.options.env || process8.env;
  const cwd = parsed.options.cwd ?? process8.cwd();
  const environmentPathExt = getWindowsEnvironmentValue(environment, "PATHEXT");
  const commandExtension = path8.extname(parsed.file);
  const pathExt = commandExtension === "" ? environmentPathExt : `${commandExtension}${path8.delimiter}${environmentPathExt ?? ""}`;
  if (hasWindowsPathSeparator(parsed.file)) {
    return whichCommandSync(path8.resolve(cwd, parsed.file), { cwd, pathExt });
  }
  const searchPath = getWindowsEnvironmentValue(environment, "PATH") ?? getWindowsEnvironmentValue(process8.env, "PATH") ?? "";
  const resolveOptions2 = {
    cwd,
    path: searchPath,
    pathExt
  };
  return shouldSearchCurrentDirectory(environment) ? whichCommandSync(parsed.file, resolveOptions2) : resolvePathDirectories(parsed.file, resolveOptions2);
};
var hasWindowsPathSeparator = (file) => file.includes("/") || file.includes("\\") || file.includes(":");
var shouldSearchCurrentDirectory = (environment) => getWindowsEnvironmentValue(process8.env, "NODEFAULTCURRENTDIRECTORYINEXEPATH") === void 0 && getWindowsEnvironmentValue(environment, "NODEFAULTCURRENTDIRECTORYINEXEPATH") === void 0;
var resolvePathDirectories = (file, { cwd, path: searchPath, pathExt }) => {
  for (const directory of searchPath.split(path8.delimiter)) {
    const unquotedDirectory = directory.length > 1 && directory.startsWith('"') && directory.endsWith('"') ? directory.slice(1, -1) : directory;
    if (unquotedDirectory === "") {
      continue;
    }
    const resolvedFile = whichCommandSync(path8.resolve(cwd, unquotedDirectory, file), { cwd, pathExt });
    if (resolvedFile !== void 0) {
      return resolvedFile;
    }
  }
};
var getWindowsEnvironmentValue = (environment, name) => {
  const environmentKey = Object.keys(environment).sort().find((key) => key.toUpperCase() === name);
  return environmentKey === void 0 ? void 0 : environment[environmentKey];
};
var SHEBANG_BYTE_LENGTH = 150;
var readShebang = (file) => {
  const buffer = Buffer2.alloc(SHEBANG_BYTE_LENGTH);
  let bytesRead = 0;
  try {
    const fileDescriptor = openSync(file, "r");
    try {
      bytesRead = readSync(fileDescriptor, buffer, 0, SHEBANG_BYTE_LENGTH, 0);
    } finally {
      closeSync(fileDescriptor);
    }
  } catch {
    return void 0;
  }
  return parseShebang(buffer.toString("utf8", 0, bytesRead));
};
var shebangRegExp = /^#!(?<line>.*)/;
var parseShebang = (contents) => {
  const shebangLine = contents.match(shebangRegExp)?.groups.line.trim();
  if (!shebangLine) {
    return void 0;
  }
  const [interpreterPath, argument] = shebangLine.split(" ", 2);
  const interpreter = interpreterPath.split("/").at(-1);
  if (interpreter === "env") {
    return argument;
  }
  return argument ? `${interpreter} ${argument}` : interpreter;
};
var lineBreakRegExp = /[\n\r]/;
var assertNoLineBreak = (value) => {
  if (lineBreakRegExp.test(value)) {
    throw new TypeError(`The command and its arguments cannot contain a line break on Windows without a shell.
This would allow a command injection with \`cmd.exe\`.
Invalid value: ${JSON.stringify(`${value}`)}`);
  }
};
var metaCharsRegExp = /[()\][%!^"`<>&|;, *?]/g;
var escapeMetaChars = (value) => value.replaceAll(metaCharsRegExp, "^$&");
var backslashRunRegExp = /\\+/g;
var quotedCharacterRegExp = new RegExp("[^\\w#$*+\\-./:?@\\\\\\u{80}-\\u{10FFFF}]|\\p{Control}", "u");
var escapeArgument = (rawArgument) => {
  const argument = `${rawArgument}`;
  if (!shouldQuoteArgument(argument)) {
    return argument;
  }
  const escapedArgument = argument.replaceAll(backslashRunRegExp, (backslashes, offset, string) => {
    const nextCharacter = string[offset + backslashes.length];
    const isPrecedesDoubleQuote = nextCharacter === '"' || nextCharacter === void 0;
    return isPrecedesDoubleQuote ? backslashes.repeat(2) : backslashes;
  }).replaceAll('"', '""').replaceAll("%", "%%cd:~,%");
  return `"${escapedArgument}"`;
};
var shouldQuoteArgument = (argument) => argument === "" || argument.endsWith("\\") || quotedCharacterRegExp.test(argument);

// node_modules/execa/lib/arguments/cwd.js
import { statSync } from "node:fs";
import path9 from "node:path";
import process9 from "node:process";
var normalizeCwd = (cwd = getDefaultCwd()) => {
  const cwdString = safeNormalizeFileUrl(cwd, 'The "cwd" option');
  return path9.resolve(cwdString);
};
var getDefaultCwd = () => {
  try {
    return process9.cwd();
  } catch (error) {
    error.message = `The current directory does not exist.
${error.message}`;
    throw error;
  }
};
var getCurrentCwd = () => {
  try {
    return process9.cwd();
  } catch {
  }
};
var fixCwdError = (originalMessage, cwd) => {
  if (cwd === getCurrentCwd()) {
    return originalMessage;
  }
  let cwdStat;
  try {
    cwdStat = statSync(cwd);
  } catch (error) {
    return `The "cwd" option is invalid: ${cwd}.
${error.message}
${originalMessage}`;
  }
  return cwdStat.isDirectory() ? originalMessage : `The "cwd" option is not a directory: ${cwd}.
${originalMessage}`;
};

// node_modules/execa/lib/arguments/options.js
var cmdExeRegExp = /^cmd(?:\.exe)?$/i;
var normalizeOptions = (filePath, rawArguments, rawOptions) => {
  const sanitizedOptions = { __proto__: null, ...rawOptions };
  sanitizedOptions.cwd = normalizeCwd(sanitizedOptions.cwd);
  const [processedFile, processedArguments, processedOptions] = handleNodeOption(filePath, rawArguments, sanitizedOptions);
  const fdOptions = normalizeFdSpecificOptions(processedOptions);
  const options = addDefaultOptions(fdOptions);
  validateBooleanOptions(options);
  validateEnv(options);
  options.env = getEnv(options);
  const { file, commandArguments } = parseCommandFile(processedFile, processedArguments, options);
  validateTimeout(options);
  validateEncoding(options);
  validateIpcInputOption(options);
  validateCancelSignal(options);
  validateRenamedSignalOption(options);
  validateGracefulCancel(options);
  options.shell = normalizeFileUrl(options.shell);
  options.killSignal = normalizeKillSignal(options.killSignal);
  options.forceKillAfterDelay = normalizeForceKillAfterDelay(options.forceKillAfterDelay);
  options.lines = options.lines.map((lines, fdNumber) => lines && !BINARY_ENCODINGS.has(options.encoding) && options.buffer[fdNumber]);
  if (process10.platform === "win32" && cmdExeRegExp.test(path10.basename(file))) {
    commandArguments.unshift("/q");
  }
  return { file, commandArguments, options };
};
var BOOLEAN_OPTIONS = [
  "extendEnv",
  "preferLocal",
  "reject",
  "cleanup",
  "killDescendants",
  "all",
  "gracefulCancel",
  "ipc",
  "node"
];
var validateBooleanOptions = (options) => {
  for (const optionName of BOOLEAN_OPTIONS) {
    checkBooleanOption(options[optionName], optionName);
  }
};
var validateEnv = ({ env }) => {
  if (env !== void 0 && (typeof env !== "object" || env === null || Array.isArray(env))) {
    throw new TypeError(`The \`env\` option must be an object: ${String(env)}.`);
  }
};
var addDefaultOptions = ({
  extendEnv = true,
  preferLocal = false,
  cwd,
  localDir: localDirectory = cwd,
  encoding = "utf8",
  reject = true,
  cleanup = true,
  killDescendants = false,
  all = false,
  windowsHide = true,
  killSignal = "SIGTERM",
  forceKillAfterDelay = true,
  gracefulCancel = false,
  ipcInput,
  ipc = ipcInput !== void 0 || gracefulCancel,
  serialization = "advanced",
  ...options
}) => ({
  __proto__: null,
  ...options,
  extendEnv,
  preferLocal,
  cwd,
  localDirectory,
  encoding,
  reject,
  cleanup,
  killDescendants,
  all,
  windowsHide,
  killSignal,
  forceKillAfterDelay,
  gracefulCancel,
  ipcInput,
  ipc,
  serialization
});
var getEnv = (options) => ({ __proto__: null, ...computeEnv(options) });
var computeEnv = ({ env: envOption, extendEnv, preferLocal, node, localDirectory, nodePath }) => {
  const env = { __proto__: null, ...extendEnv && process10.env, ...envOption };
  if (preferLocal || node) {
    return npmRunPathEnv({
      env,
      cwd: localDirectory,
      execPath: nodePath,
      preferLocal,
      addExecPath: node
    });
  }
  return env;
};

// node_modules/execa/lib/arguments/shell.js
var concatenateShell = (file, commandArguments, options) => options.shell && commandArguments.length > 0 ? [[file, ...commandArguments].join(" "), [], options] : [file, commandArguments, options];

// node_modules/execa/lib/resolve/all-sync.js
import { Buffer as Buffer3 } from "node:buffer";

// node_modules/execa/lib/transform/split.js
var getSplitLinesGenerator = (binary, preserveNewlines, skipped, state) => binary || skipped ? void 0 : initializeSplitLines(preserveNewlines, state);
var splitLinesSync = (chunk, preserveNewlines, objectMode) => objectMode ? chunk.flatMap((item) => splitLinesItemSync(item, preserveNewlines)) : splitLinesItemSync(chunk, preserveNewlines);
var splitLinesItemSync = (chunk, preserveNewlines) => {
  const { transform, final } = initializeSplitLines(preserveNewlines, {});
  return [...transform(chunk), ...final()];
};
var initializeSplitLines = (preserveNewlines, state) => {
  state.previousChunks = "";
  return {
    transform: splitGenerator.bind(void 0, state, preserveNewlines),
    final: linesFinal.bind(void 0, state)
  };
};
var splitGenerator = function* (state, preserveNewlines, chunk) {
  if (typeof chunk !== "string") {
    yield chunk;
    return;
  }
  let { previousChunks } = state;
  let start = -1;
  for (let end = 0; end < chunk.length; end += 1) {
    if (chunk[end] !== "\n") {
      continue;
    }
    let line = chunk.slice(start + 1, preserveNewlines ? end + 1 : end);
    if (previousChunks.length > 0) {
      line = concatString(previousChunks, line);
      previousChunks = "";
    }
    yield preserveNewlines ? line : stripCarriageReturn(line, state);
    start = end;
  }
  if (start !== chunk.length - 1) {
    previousChunks = concatString(previousChunks, chunk.slice(start + 1));
  }
  state.previousChunks = previousChunks;
};
var stripCarriageReturn = (line, state) => {
  state.isWindowsNewline = line.endsWith("\r");
  return state.isWindowsNewline ? line.slice(0, -1) : line;
};
var linesFinal = function* ({ previousChunks }) {
  if (previousChunks.length > 0) {
    yield previousChunks;
  }
};
var getAppendNewlineGenerator = ({ binary, preserveNewlines, readableObjectMode, state, encoding }) => binary || preserveNewlines || readableObjectMode ? void 0 : { transform: appendNewlineGenerator.bind(void 0, state, getStringEncoding(binary, encoding)) };
var appendNewlineGenerator = function* ({ isWindowsNewline = false }, stringEncoding, chunk) {
  const { unixNewline, windowsNewline, concat } = typeof chunk === "string" ? linesStringInfo : LINES_BYTES_INFO[stringEncoding];
  if (endsWithNewline(chunk, unixNewline)) {
    yield chunk;
    return;
  }
  const newline = isWindowsNewline ? windowsNewline : unixNewline;
  yield concat(chunk, newline);
};
var endsWithNewline = (chunk, unixNewline) => typeof chunk === "string" ? chunk.endsWith(unixNewline) : chunk.length >= unixNewline.length && chunk.subarray(-unixNewline.length).every((byte, index) => byte === unixNewline[index]);
var concatString = (firstChunk, secondChunk) => `${firstChunk}${secondChunk}`;
var linesStringInfo = {
  windowsNewline: "\r\n",
  unixNewline: "\n",
  concat: concatString
};
var concatUint8Array = (firstChunk, secondChunk) => {
  const chunk = new Uint8Array(firstChunk.length + secondChunk.length);
  chunk.set(firstChunk, 0);
  chunk.set(secondChunk, firstChunk.length);
  return chunk;
};
var LINES_BYTES_INFO = {
  __proto__: null,
  utf8: {
    windowsNewline: new Uint8Array([13, 10]),
    unixNewline: new Uint8Array([10]),
    concat: concatUint8Array
  },
  utf16le: {
    windowsNewline: new Uint8Array([13, 0, 10, 0]),
    unixNewline: new Uint8Array([10, 0]),
    concat: concatUint8Array
  }
};

// node_modules/strip-final-newline/index.js
function stripFinalNewline(input) {
  if (typeof input === "string") {
    return stripFinalNewlineString(input);
  }
  if (!(ArrayBuffer.isView(input) && input.BYTES_PER_ELEMENT === 1)) {
    throw new Error("Input must be a string or a Uint8Array");
  }
  return stripFinalNewlineBinary(input);
}
var stripFinalNewlineString = (input) => input.at(-1) === LF ? input.slice(0, input.at(-2) === CR ? -2 : -1) : input;
var stripFinalNewlineBinary = (input) => input.at(-1) === LF_BINARY ? input.subarray(0, input.at(-2) === CR_BINARY ? -2 : -1) : input;
var LF = "\n";
var LF_BINARY = LF.codePointAt(0);
var CR = "\r";
var CR_BINARY = CR.codePointAt(0);

// node_modules/execa/lib/io/strip-newline.js
var stripNewline = (value, { stripFinalNewline: stripFinalNewline2 }, fdNumber, allFds) => value !== void 0 && !Array.isArray(value) && getStripFinalNewline(stripFinalNewline2, fdNumber, allFds) ? stripFinalNewline(value) : value;
var getStripFinalNewline = (stripFinalNewline2, fdNumber, allFds) => fdNumber === "all" ? allFds.some((allFd) => stripFinalNewline2[allFd]) : stripFinalNewline2[fdNumber];

// node_modules/execa/lib/resolve/all-sync.js
var getAllSyncFds = ([, stdout, stderr]) => [
  ...stdout === void 0 ? [] : [1],
  ...stderr === void 0 ? [] : [2]
];
var getAllSync = ([, stdout, stderr], allFds, options) => {
  if (!options.all) {
    return;
  }
  if (stdout === void 0) {
    return splitAllLines(stderr, allFds, options);
  }
  if (stderr === void 0) {
    return splitAllLines(stdout, allFds, options);
  }
  if (hasLines(options)) {
    return [splitAllLines(stdout, allFds, options), splitAllLines(stderr, allFds, options)].flat();
  }
  if (Array.isArray(stdout) || Array.isArray(stderr)) {
    return [stdout, stderr].filter((value) => value.length > 0).flat();
  }
  if (isUint8Array(stdout) && isUint8Array(stderr)) {
    return concatUint8Arrays([stdout, stderr]);
  }
  return BASE64_ENCODINGS.has(options.encoding) ? concatBase64(stdout, stderr, options.encoding) : `${stdout}${stderr}`;
};
var concatBase64 = (stdout, stderr, encoding) => Buffer3.concat([Buffer3.from(stdout, encoding), Buffer3.from(stderr, encoding)]).toString(encoding);
var BASE64_ENCODINGS = /* @__PURE__ */ new Set(["base64", "base64url"]);
var hasLines = ({ lines }) => Boolean(lines[1] || lines[2]);
var splitAllLines = (value, allFds, options) => value === void 0 || Array.isArray(value) || !hasLines(options) ? value : splitLinesSync(value, !getStripFinalNewline(options.stripFinalNewline, "all", allFds), false);

// node_modules/execa/lib/return/message.js
import { inspect as inspect3 } from "node:util";

// node_modules/get-stream/source/index.js
import { on } from "node:events";
import { finished } from "node:stream/promises";

// node_modules/is-stream/index.js
function isStream(stream, { checkOpen = true } = {}) {
  return stream !== null && typeof stream === "object" && (stream.writable || stream.readable || !checkOpen || stream.writable === void 0 && stream.readable === void 0) && typeof stream.pipe === "function";
}
function isWritableStream(stream, { checkOpen = true } = {}) {
  return isStream(stream, { checkOpen }) && (stream.writable || !checkOpen) && typeof stream.write === "function" && typeof stream.end === "function" && typeof stream.writable === "boolean" && typeof stream.writableObjectMode === "boolean" && typeof stream.destroy === "function" && typeof stream.destroyed === "boolean";
}
function isReadableStream(stream, { checkOpen = true } = {}) {
  return isStream(stream, { checkOpen }) && (stream.readable || !checkOpen) && typeof stream.read === "function" && typeof stream.readable === "boolean" && typeof stream.readableObjectMode === "boolean" && typeof stream.destroy === "function" && typeof stream.destroyed === "boolean";
}
function isDuplexStream(stream, options) {
  return isWritableStream(stream, options) && isReadableStream(stream, options);
}

// node_modules/@sec-ant/readable-stream/dist/ponyfill/asyncIterator.js
var a = Object.getPrototypeOf(
  Object.getPrototypeOf(
    /* istanbul ignore next */
    async function* () {
    }
  ).prototype
);
var c = class {
  #t;
  #n;
  #r = false;
  #e = void 0;
  constructor(e, t) {
    this.#t = e, this.#n = t;
  }
  next() {
    const e = () => this.#s();
    return this.#e = this.#e ? this.#e.then(e, e) : e(), this.#e;
  }
  return(e) {
    const t = () => this.#i(e);
    return this.#e ? this.#e.then(t, t) : t();
  }
  async #s() {
    if (this.#r)
      return {
        done: true,
        value: void 0
      };
    let e;
    try {
      e = await this.#t.read();
    } catch (t) {
      throw this.#e = void 0, this.#r = true, this.#t.releaseLock(), t;
    }
    return e.done && (this.#e = void 0, this.#r = true, this.#t.releaseLock()), e;
  }
  async #i(e) {
    if (this.#r)
      return {
        done: true,
        value: e
      };
    if (this.#r = true, !this.#n) {
      const t = this.#t.cancel(e);
      return this.#t.releaseLock(), await t, {
        done: true,
        value: e
      };
    }
    return this.#t.releaseLock(), {
      done: true,
      value: e
    };
  }
};
var n = /* @__PURE__ */ Symbol();
function i() {
  return this[n].next();
}
Object.defineProperty(i, "name", { value: "next" });
function o(r) {
  return this[n].return(r);
}
Object.defineProperty(o, "name", { value: "return" });
var u = Object.create(a, {
  next: {
    enumerable: true,
    configurable: true,
    writable: true,
    value: i
  },
  return: {
    enumerable: true,
    configurable: true,
    writable: true,
    value: o
  }
});
function h({ preventCancel: r = false } = {}) {
  const e = this.getReader(), t = new c(
    e,
    r
  ), s = Object.create(u);
  return s[n] = t, s;
}

// node_modules/get-stream/source/stream.js
var getAsyncIterable = (stream) => {
  if (isReadableStream(stream, { checkOpen: false }) && nodeImports.on !== void 0) {
    return getStreamIterable(stream);
  }
  if (typeof stream?.[Symbol.asyncIterator] === "function") {
    return stream;
  }
  if (toString.call(stream) === "[object ReadableStream]") {
    return h.call(stream);
  }
  throw new TypeError("The first argument must be a Readable, a ReadableStream, or an async iterable.");
};
var { toString } = Object.prototype;
var getStreamIterable = async function* (stream) {
  const controller = new AbortController();
  const state = {};
  handleStreamEnd(stream, controller, state);
  try {
    for await (const [chunk] of nodeImports.on(stream, "data", { signal: controller.signal })) {
      yield chunk;
    }
  } catch (error) {
    if (state.error !== void 0) {
      throw state.error;
    } else if (!controller.signal.aborted) {
      throw error;
    }
  } finally {
    stream.destroy();
  }
};
var handleStreamEnd = async (stream, controller, state) => {
  try {
    await nodeImports.finished(stream, {
      cleanup: true,
      readable: true,
      writable: false,
      error: false
    });
  } catch (error) {
    state.error = error;
  } finally {
    controller.abort();
  }
};
var nodeImports = {};

// node_modules/get-stream/source/contents.js
var getStreamContents = async (stream, { init, convertChunk, getSize, truncateChunk, addChunk, getFinalChunk, finalize }, { maxBuffer = Number.POSITIVE_INFINITY } = {}) => {
  const asyncIterable = getAsyncIterable(stream);
  const state = init();
  state.length = 0;
  try {
    for await (const chunk of asyncIterable) {
      const chunkType = getChunkType(chunk);
      const convertedChunk = convertChunk[chunkType](chunk, state);
      appendChunk({
        convertedChunk,
        state,
        getSize,
        truncateChunk,
        addChunk,
        maxBuffer
      });
    }
    appendFinalChunk({
      state,
      convertChunk,
      getSize,
      truncateChunk,
      addChunk,
      getFinalChunk,
      maxBuffer
    });
    return finalize(state);
  } catch (error) {
    const normalizedError = typeof error === "object" && error !== null ? error : new Error(error);
    normalizedError.bufferedData = finalize(state);
    throw normalizedError;
  }
};
var appendFinalChunk = ({ state, getSize, truncateChunk, addChunk, getFinalChunk, maxBuffer }) => {
  const convertedChunk = getFinalChunk(state);
  if (convertedChunk !== void 0) {
    appendChunk({
      convertedChunk,
      state,
      getSize,
      truncateChunk,
      addChunk,
      maxBuffer
    });
  }
};
var appendChunk = ({ convertedChunk, state, getSize, truncateChunk, addChunk, maxBuffer }) => {
  const chunkSize = getSize(convertedChunk);
  const newLength = state.length + chunkSize;
  if (newLength <= maxBuffer) {
    addNewChunk(convertedChunk, state, addChunk, newLength);
    return;
  }
  const truncatedChunk = truncateChunk(convertedChunk, maxBuffer - state.length);
  if (truncatedChunk !== void 0) {
    addNewChunk(truncatedChunk, state, addChunk, maxBuffer);
  }
  throw new MaxBufferError();
};
var addNewChunk = (convertedChunk, state, addChunk, newLength) => {
  state.contents = addChunk(convertedChunk, state, newLength);
  state.length = newLength;
};
var getChunkType = (chunk) => {
  const typeOfChunk = typeof chunk;
  if (typeOfChunk === "string") {
    return "string";
  }
  if (typeOfChunk !== "object" || chunk === null) {
    return "others";
  }
  if (globalThis.Buffer?.isBuffer(chunk)) {
    return "buffer";
  }
  const prototypeName = objectToString2.call(chunk);
  if (prototypeName === "[object ArrayBuffer]") {
    return "arrayBuffer";
  }
  if (prototypeName === "[object DataView]") {
    return "dataView";
  }
  if (Number.isInteger(chunk.byteLength) && Number.isInteger(chunk.byteOffset) && objectToString2.call(chunk.buffer) === "[object ArrayBuffer]") {
    return "typedArray";
  }
  return "others";
};
var { toString: objectToString2 } = Object.prototype;
var MaxBufferError = class extends Error {
  name = "MaxBufferError";
  constructor() {
    super("maxBuffer exceeded");
  }
};

// node_modules/get-stream/source/utils.js
var identity2 = (value) => value;
var noop = () => void 0;
var getContentsProperty = ({ contents }) => contents;
var throwObjectStream = (chunk) => {
  throw new Error(`Streams in object mode are not supported: ${String(chunk)}`);
};
var getLengthProperty = (convertedChunk) => convertedChunk.length;

// node_modules/get-stream/source/array.js
async function getStreamAsArray(stream, options) {
  return getStreamContents(stream, arrayMethods, options);
}
var initArray = () => ({ contents: [] });
var increment = () => 1;
var addArrayChunk = (convertedChunk, { contents }) => {
  contents.push(convertedChunk);
  return contents;
};
var arrayMethods = {
  init: initArray,
  convertChunk: {
    string: identity2,
    buffer: identity2,
    arrayBuffer: identity2,
    dataView: identity2,
    typedArray: identity2,
    others: identity2
  },
  getSize: increment,
  truncateChunk: noop,
  addChunk: addArrayChunk,
  getFinalChunk: noop,
  finalize: getContentsProperty
};

// node_modules/get-stream/source/array-buffer.js
async function getStreamAsArrayBuffer(stream, options) {
  return getStreamContents(stream, arrayBufferMethods, options);
}
var initArrayBuffer = () => ({ contents: new ArrayBuffer(0) });
var useTextEncoder = (chunk) => textEncoder2.encode(chunk);
var textEncoder2 = new TextEncoder();
var useUint8Array = (chunk) => new Uint8Array(chunk);
var useUint8ArrayWithOffset = (chunk) => new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
var truncateArrayBufferChunk = (convertedChunk, chunkSize) => convertedChunk.slice(0, chunkSize);
var addArrayBufferChunk = (convertedChunk, { contents, length: previousLength }, length) => {
  const newContents = hasArrayBufferResize() ? resizeArrayBuffer(contents, length) : resizeArrayBufferSlow(contents, length);
  new Uint8Array(newContents).set(convertedChunk, previousLength);
  return newContents;
};
var resizeArrayBufferSlow = (contents, length) => {
  if (length <= contents.byteLength) {
    return contents;
  }
  const arrayBuffer = new ArrayBuffer(getNewContentsLength(length));
  new Uint8Array(arrayBuffer).set(new Uint8Array(contents), 0);
  return arrayBuffer;
};
var resizeArrayBuffer = (contents, length) => {
  if (length <= contents.maxByteLength) {
    contents.resize(length);
    return contents;
  }
  const arrayBuffer = new ArrayBuffer(length, { maxByteLength: getNewContentsLength(length) });
  new Uint8Array(arrayBuffer).set(new Uint8Array(contents), 0);
  return arrayBuffer;
};
var getNewContentsLength = (length) => SCALE_FACTOR ** Math.ceil(Math.log(length) / Math.log(SCALE_FACTOR));
var SCALE_FACTOR = 2;
var finalizeArrayBuffer = ({ contents, length }) => hasArrayBufferResize() ? contents : contents.slice(0, length);
var hasArrayBufferResize = () => "resize" in ArrayBuffer.prototype;
var arrayBufferMethods = {
  init: initArrayBuffer,
  convertChunk: {
    string: useTextEncoder,
    buffer: useUint8Array,
    arrayBuffer: useUint8Array,
    dataView: useUint8ArrayWithOffset,
    typedArray: useUint8ArrayWithOffset,
    others: throwObjectStream
  },
  getSize: getLengthProperty,
  truncateChunk: truncateArrayBufferChunk,
  addChunk: addArrayBufferChunk,
  getFinalChunk: noop,
  finalize: finalizeArrayBuffer
};

// node_modules/get-stream/source/string.js
async function getStreamAsString(stream, options) {
  return getStreamContents(stream, stringMethods, options);
}
var initString = () => ({ contents: "", textDecoder: new TextDecoder() });
var useTextDecoder = (chunk, { textDecoder: textDecoder2 }) => textDecoder2.decode(chunk, { stream: true });
var addStringChunk = (convertedChunk, { contents }) => contents + convertedChunk;
var truncateStringChunk = (convertedChunk, chunkSize) => convertedChunk.slice(0, chunkSize);
var getFinalStringChunk = ({ textDecoder: textDecoder2 }) => {
  const finalChunk = textDecoder2.decode();
  return finalChunk === "" ? void 0 : finalChunk;
};
var stringMethods = {
  init: initString,
  convertChunk: {
    string: identity2,
    buffer: useTextDecoder,
    arrayBuffer: useTextDecoder,
    dataView: useTextDecoder,
    typedArray: useTextDecoder,
    others: throwObjectStream
  },
  getSize: getLengthProperty,
  truncateChunk: truncateStringChunk,
  addChunk: addStringChunk,
  getFinalChunk: getFinalStringChunk,
  finalize: getContentsProperty
};

// node_modules/get-stream/source/index.js
Object.assign(nodeImports, { on, finished });

// node_modules/execa/lib/io/max-buffer.js
var handleMaxBuffer = ({ error, stream, readableObjectMode, lines, encoding, fdNumber }) => {
  if (!(error instanceof MaxBufferError)) {
    throw error;
  }
  if (fdNumber === "all") {
    return error;
  }
  const unit = getMaxBufferUnit(readableObjectMode, lines, encoding);
  error.maxBufferInfo = { fdNumber, unit };
  stream.destroy();
  throw error;
};
var getMaxBufferUnit = (readableObjectMode, lines, encoding) => {
  if (readableObjectMode) {
    return "objects";
  }
  if (lines) {
    return "lines";
  }
  return encoding === "buffer" ? "bytes" : "characters";
};
var checkIpcMaxBuffer = (ipcOutput, maxBuffer) => {
  if (ipcOutput.length + 1 <= maxBuffer) {
    return;
  }
  const error = new MaxBufferError();
  error.maxBufferInfo = { fdNumber: "ipc" };
  throw error;
};
var getMaxBufferMessage = (error, maxBuffer) => {
  const { streamName, threshold, unit } = getMaxBufferInfo(error, maxBuffer);
  return `Command's ${streamName} was larger than ${threshold} ${unit}`;
};
var getMaxBufferInfo = (error, maxBuffer) => {
  if (error?.maxBufferInfo === void 0) {
    return { streamName: "output", threshold: maxBuffer[1], unit: "bytes" };
  }
  const { maxBufferInfo: { fdNumber, unit, threshold = getFdSpecificValue(maxBuffer, fdNumber) } } = error;
  delete error.maxBufferInfo;
  return fdNumber === "ipc" ? { streamName: "IPC output", threshold, unit: "messages" } : { streamName: getStreamName(fdNumber), threshold, unit };
};
var getMaxBufferSync = ([, stdoutMaxBuffer]) => stdoutMaxBuffer === 0 ? Number.MIN_VALUE : stdoutMaxBuffer;
var handleMaxBufferSync = ({ resultError, output: output2, maxBuffer, buffer }) => {
  const fdNumber = findMaxBufferSync(output2, maxBuffer, buffer);
  if (fdNumber === void 0) {
    return { resultError, isMaxBuffer: resultError?.code === "ENOBUFS" };
  }
  const threshold = getMaxBufferValueSync(maxBuffer, fdNumber);
  const error = resultError ?? Object.assign(new MaxBufferError(), { code: "ENOBUFS" });
  error.maxBufferInfo = { fdNumber, unit: "bytes", threshold };
  return { resultError: error, isMaxBuffer: true };
};
var findMaxBufferSync = (output2, maxBuffer, buffer) => {
  if (output2 === null) {
    return;
  }
  const fdNumber = output2.findIndex((result, index) => result !== null && buffer[index] && result.length > getMaxBufferValueSync(maxBuffer, index));
  return fdNumber === -1 ? void 0 : fdNumber;
};
var getMaxBufferValueSync = (maxBuffer, fdNumber) => Math.min(maxBuffer[1], maxBuffer[fdNumber]);
var truncateMaxBufferSync = (result, fdNumber, { maxBuffer, buffer }) => {
  const maxBufferValue = getMaxBufferValueSync(maxBuffer, fdNumber);
  return buffer[fdNumber] && result.length > maxBufferValue ? result.slice(0, maxBufferValue) : result;
};

// node_modules/execa/lib/return/message.js
var createMessages = ({
  stdio,
  all,
  ipcOutput,
  originalError,
  signal,
  signalDescription,
  exitCode,
  escapedCommand,
  timedOut,
  isCanceled,
  isGracefullyCanceled,
  isMaxBuffer,
  isForcefullyTerminated,
  forceKillAfterDelay,
  killSignal,
  maxBuffer,
  timeout,
  cwd
}) => {
  const errorCode = getErrorCode(originalError);
  const prefix = getErrorPrefix({
    originalError,
    timedOut,
    timeout,
    isMaxBuffer,
    maxBuffer,
    errorCode,
    signal,
    signalDescription,
    exitCode,
    isCanceled,
    isGracefullyCanceled,
    isForcefullyTerminated,
    forceKillAfterDelay,
    killSignal
  });
  const originalMessage = getOriginalMessage(originalError, cwd);
  const suffix = originalMessage === void 0 ? "" : `
${originalMessage}`;
  const shortMessage = `${prefix}: ${escapedCommand}${suffix}`;
  const messageStdio = all === void 0 ? [stdio[2], stdio[1]] : [all];
  const message = [
    shortMessage,
    ...messageStdio,
    ...stdio.slice(3),
    ipcOutput.map((ipcMessage) => serializeIpcMessage(ipcMessage)).join("\n")
  ].map((messagePart) => escapeLines(stripFinalNewline(serializeMessagePart(messagePart)))).filter(Boolean).join("\n\n");
  return { originalMessage, shortMessage, message };
};
var getErrorCode = (error) => typeof error?.code === "string" ? error.code : void 0;
var getErrorPrefix = ({
  originalError,
  timedOut,
  timeout,
  isMaxBuffer,
  maxBuffer,
  errorCode,
  signal,
  signalDescription,
  exitCode,
  isCanceled,
  isGracefullyCanceled,
  isForcefullyTerminated,
  forceKillAfterDelay,
  killSignal
}) => {
  const forcefulSuffix = getForcefulSuffix(isForcefullyTerminated, forceKillAfterDelay);
  if (timedOut) {
    return `Command timed out after ${timeout} milliseconds${forcefulSuffix}`;
  }
  if (isGracefullyCanceled) {
    if (signal === void 0) {
      return `Command was gracefully canceled with exit code ${exitCode}`;
    }
    return isForcefullyTerminated ? `Command was gracefully canceled${forcefulSuffix}` : `Command was gracefully canceled with ${signal} (${signalDescription})`;
  }
  if (isCanceled) {
    return `Command was canceled${forcefulSuffix}`;
  }
  if (isMaxBuffer) {
    return `${getMaxBufferMessage(originalError, maxBuffer)}${forcefulSuffix}`;
  }
  if (errorCode !== void 0) {
    return `Command failed with ${errorCode}${forcefulSuffix}`;
  }
  if (isForcefullyTerminated) {
    return `Command was killed with ${killSignal} (${getSignalDescription(killSignal)})${forcefulSuffix}`;
  }
  if (signal !== void 0) {
    return `Command was killed with ${signal} (${signalDescription})`;
  }
  return exitCode === void 0 ? "Command failed" : `Command failed with exit code ${exitCode}`;
};
var getForcefulSuffix = (isForcefullyTerminated, forceKillAfterDelay) => isForcefullyTerminated ? ` and was forcefully terminated after ${forceKillAfterDelay} milliseconds` : "";
var getOriginalMessage = (originalError, cwd) => {
  if (originalError instanceof DiscardedError) {
    return;
  }
  const originalMessage = isExecaError(originalError) ? originalError.originalMessage ?? "" : String(originalError?.message ?? originalError);
  const escapedOriginalMessage = escapeLines(fixCwdError(originalMessage, cwd));
  return escapedOriginalMessage === "" ? void 0 : escapedOriginalMessage;
};
var serializeIpcMessage = (ipcMessage) => typeof ipcMessage === "string" ? ipcMessage : inspect3(ipcMessage);
var serializeMessagePart = (messagePart) => Array.isArray(messagePart) ? messagePart.filter((messageItem) => isTextItem(messageItem)).map((messageItem) => stripFinalNewline(serializeMessageItem(messageItem))).join("\n") : serializeMessageItem(messagePart);
var isTextItem = (messageItem) => typeof messageItem === "string" || isUint8Array(messageItem);
var serializeMessageItem = (messageItem) => {
  if (typeof messageItem === "string") {
    return messageItem;
  }
  return isUint8Array(messageItem) ? uint8ArrayToString(messageItem) : "";
};

// node_modules/execa/lib/return/result.js
var makeSuccessResult = ({
  command,
  escapedCommand,
  stdio,
  all,
  ipcOutput,
  options: { cwd },
  startTime
}) => omitUndefinedProperties({
  command,
  escapedCommand,
  cwd,
  durationMs: getDurationMs(startTime),
  failed: false,
  timedOut: false,
  isCanceled: false,
  isGracefullyCanceled: false,
  isTerminated: false,
  isMaxBuffer: false,
  isForcefullyTerminated: false,
  exitCode: 0,
  stdout: stdio[1],
  stderr: stdio[2],
  all,
  stdio,
  ipcOutput,
  pipedFrom: []
});
var makeEarlyError = ({
  error,
  command,
  escapedCommand,
  fileDescriptors,
  options,
  startTime,
  isSync,
  stdio = Array.from({ length: fileDescriptors.length }),
  all
}) => makeError({
  error,
  command,
  escapedCommand,
  startTime,
  timedOut: false,
  isCanceled: false,
  isGracefullyCanceled: false,
  isMaxBuffer: false,
  isForcefullyTerminated: false,
  stdio,
  all,
  ipcOutput: [],
  options,
  isSync
});
var getEarlyErrorOutput = (fileDescriptors, options) => {
  const stdio = fileDescriptors.map((fileDescriptor, fdNumber) => getEmptyOutput(fileDescriptor, fdNumber, options));
  return { stdio, all: getAllSync(stdio, getAllSyncFds(stdio), options) };
};
var getEmptyOutput = ({ direction, objectMode }, fdNumber, { stdio, buffer, lines, encoding }) => {
  if (direction === "input" || !PIPED_STDIO.has(stdio[fdNumber]) || !buffer[fdNumber]) {
    return;
  }
  if (objectMode || lines[fdNumber]) {
    return [];
  }
  return encoding === "buffer" ? new Uint8Array() : "";
};
var PIPED_STDIO = /* @__PURE__ */ new Set(["pipe", "overlapped"]);
var makeError = ({
  error: originalError,
  command,
  escapedCommand,
  startTime,
  timedOut,
  isCanceled,
  isGracefullyCanceled,
  isMaxBuffer,
  isForcefullyTerminated,
  exitCode: rawExitCode,
  signal: rawSignal,
  stdio,
  all,
  ipcOutput,
  options: {
    timeoutDuration,
    timeout = timeoutDuration,
    forceKillAfterDelay,
    killSignal,
    cwd,
    maxBuffer
  },
  isSync
}) => {
  const { exitCode, signal, signalDescription } = normalizeExitPayload(rawExitCode, rawSignal);
  const { originalMessage, shortMessage, message } = createMessages({
    stdio,
    all,
    ipcOutput,
    originalError,
    signal,
    signalDescription,
    exitCode,
    escapedCommand,
    timedOut,
    isCanceled,
    isGracefullyCanceled,
    isMaxBuffer,
    isForcefullyTerminated,
    forceKillAfterDelay,
    killSignal,
    maxBuffer,
    timeout,
    cwd
  });
  const error = getFinalError(originalError, message, isSync);
  Object.assign(error, getErrorProperties({
    error,
    command,
    escapedCommand,
    startTime,
    timedOut,
    isCanceled,
    isGracefullyCanceled,
    isMaxBuffer,
    isForcefullyTerminated,
    exitCode,
    signal,
    signalDescription,
    stdio,
    all,
    ipcOutput,
    cwd,
    originalMessage,
    shortMessage
  }));
  return error;
};
var getErrorProperties = ({
  error,
  command,
  escapedCommand,
  startTime,
  timedOut,
  isCanceled,
  isGracefullyCanceled,
  isMaxBuffer,
  isForcefullyTerminated,
  exitCode,
  signal,
  signalDescription,
  stdio,
  all,
  ipcOutput,
  cwd,
  originalMessage,
  shortMessage
}) => omitUndefinedProperties({
  shortMessage,
  originalMessage,
  command,
  escapedCommand,
  cwd,
  durationMs: getDurationMs(startTime),
  failed: true,
  timedOut,
  isCanceled,
  isGracefullyCanceled,
  isTerminated: signal !== void 0,
  isMaxBuffer,
  isForcefullyTerminated,
  exitCode,
  signal,
  signalDescription,
  code: getErrorCode(error.cause),
  stdout: stdio[1],
  stderr: stdio[2],
  all,
  stdio,
  ipcOutput,
  pipedFrom: []
});
var omitUndefinedProperties = (result) => Object.fromEntries(Object.entries(result).filter(([, value]) => value !== void 0));
var normalizeExitPayload = (rawExitCode, rawSignal) => {
  const exitCode = rawExitCode === null ? void 0 : rawExitCode;
  const signal = rawSignal === null ? void 0 : rawSignal;
  const signalDescription = signal === void 0 ? void 0 : getSignalDescription(rawSignal);
  return { exitCode, signal, signalDescription };
};

// node_modules/parse-ms/index.js
var toZeroIfInfinity = (value) => Number.isFinite(value) ? value : 0;
function parseNumber(milliseconds) {
  return {
    days: Math.trunc(milliseconds / 864e5),
    hours: Math.trunc(milliseconds / 36e5 % 24),
    minutes: Math.trunc(milliseconds / 6e4 % 60),
    seconds: Math.trunc(milliseconds / 1e3 % 60),
    milliseconds: Math.trunc(milliseconds % 1e3),
    microseconds: Math.trunc(toZeroIfInfinity(milliseconds * 1e3) % 1e3),
    nanoseconds: Math.trunc(toZeroIfInfinity(milliseconds * 1e6) % 1e3)
  };
}
function parseBigint(milliseconds) {
  return {
    days: milliseconds / 86400000n,
    hours: milliseconds / 3600000n % 24n,
    minutes: milliseconds / 60000n % 60n,
    seconds: milliseconds / 1000n % 60n,
    milliseconds: milliseconds % 1000n,
    microseconds: 0n,
    nanoseconds: 0n
  };
}
function parseMilliseconds(milliseconds) {
  switch (typeof milliseconds) {
    case "number": {
      if (Number.isFinite(milliseconds)) {
        return parseNumber(milliseconds);
      }
      break;
    }
    case "bigint": {
      return parseBigint(milliseconds);
    }
  }
  throw new TypeError("Expected a finite number or bigint");
}

// node_modules/pretty-ms/index.js
var isZero = (value) => value === 0 || value === 0n;
var pluralize = (word, count2) => count2 === 1 || count2 === 1n ? word : `${word}s`;
var SECOND_ROUNDING_EPSILON = 1e-7;
var ONE_DAY_IN_MILLISECONDS = 24n * 60n * 60n * 1000n;
function prettyMilliseconds(milliseconds, options) {
  const isBigInt = typeof milliseconds === "bigint";
  if (!isBigInt && !Number.isFinite(milliseconds)) {
    throw new TypeError("Expected a finite number or bigint");
  }
  options = { ...options };
  const sign = milliseconds < 0 ? "-" : "";
  milliseconds = milliseconds < 0 ? -milliseconds : milliseconds;
  if (options.colonNotation) {
    options.compact = false;
    options.formatSubMilliseconds = false;
    options.separateMilliseconds = false;
    options.verbose = false;
  }
  if (options.compact) {
    options.unitCount = 1;
    options.secondsDecimalDigits = 0;
    options.millisecondsDecimalDigits = 0;
  }
  let result = [];
  const floorDecimals = (value, decimalDigits) => {
    const flooredInterimValue = Math.floor(value * 10 ** decimalDigits + SECOND_ROUNDING_EPSILON);
    const flooredValue = Math.round(flooredInterimValue) / 10 ** decimalDigits;
    return flooredValue.toFixed(decimalDigits);
  };
  const add = (value, long, short, valueString) => {
    if ((result.length === 0 || !options.colonNotation) && isZero(value) && !(options.colonNotation && short === "m")) {
      return;
    }
    valueString ??= String(value);
    if (options.colonNotation) {
      const wholeDigits = valueString.includes(".") ? valueString.split(".")[0].length : valueString.length;
      const minLength = result.length > 0 ? 2 : 1;
      valueString = "0".repeat(Math.max(0, minLength - wholeDigits)) + valueString;
    } else {
      valueString += options.verbose ? " " + pluralize(long, value) : short;
    }
    result.push(valueString);
  };
  const parsed = parseMilliseconds(milliseconds);
  const days = BigInt(parsed.days);
  if (options.hideYearAndDays) {
    add(BigInt(days) * 24n + BigInt(parsed.hours), "hour", "h");
  } else {
    if (options.hideYear) {
      add(days, "day", "d");
    } else {
      add(days / 365n, "year", "y");
      add(days % 365n, "day", "d");
    }
    add(Number(parsed.hours), "hour", "h");
  }
  add(Number(parsed.minutes), "minute", "m");
  if (!options.hideSeconds) {
    if (options.separateMilliseconds || options.formatSubMilliseconds || !options.colonNotation && milliseconds < 1e3 && !options.subSecondsAsDecimals) {
      const seconds = Number(parsed.seconds);
      const milliseconds2 = Number(parsed.milliseconds);
      const microseconds = Number(parsed.microseconds);
      const nanoseconds = Number(parsed.nanoseconds);
      add(seconds, "second", "s");
      if (options.formatSubMilliseconds) {
        add(milliseconds2, "millisecond", "ms");
        add(microseconds, "microsecond", "\xB5s");
        add(nanoseconds, "nanosecond", "ns");
      } else {
        const millisecondsAndBelow = milliseconds2 + microseconds / 1e3 + nanoseconds / 1e6;
        const millisecondsDecimalDigits = typeof options.millisecondsDecimalDigits === "number" ? options.millisecondsDecimalDigits : 0;
        const roundedMilliseconds = millisecondsAndBelow >= 1 ? Math.round(millisecondsAndBelow) : Math.ceil(millisecondsAndBelow);
        const maximumMilliseconds = 1e3 - 10 ** -millisecondsDecimalDigits;
        const millisecondsString = millisecondsDecimalDigits ? Math.min(millisecondsAndBelow, maximumMilliseconds).toFixed(millisecondsDecimalDigits) : Math.min(roundedMilliseconds, maximumMilliseconds);
        add(
          Number.parseFloat(millisecondsString),
          "millisecond",
          "ms",
          millisecondsString
        );
      }
    } else {
      const seconds = (isBigInt ? Number(milliseconds % ONE_DAY_IN_MILLISECONDS) : milliseconds) / 1e3 % 60;
      const secondsDecimalDigits = typeof options.secondsDecimalDigits === "number" ? options.secondsDecimalDigits : 1;
      const secondsFixed = floorDecimals(seconds, secondsDecimalDigits);
      const secondsString = options.keepDecimalsOnWholeSeconds ? secondsFixed : secondsFixed.replace(/\.0+$/, "");
      add(Number.parseFloat(secondsString), "second", "s", secondsString);
    }
  }
  if (result.length === 0) {
    return sign + "0" + (options.verbose ? " milliseconds" : "ms");
  }
  const separator = options.colonNotation ? ":" : " ";
  if (typeof options.unitCount === "number") {
    result = result.slice(0, Math.max(options.unitCount, 1));
  }
  return sign + result.join(separator);
}

// node_modules/execa/lib/verbose/error.js
var logError = (result, verboseInfo) => {
  if (result.failed) {
    verboseLog({
      type: "error",
      verboseMessage: result.shortMessage,
      verboseInfo,
      result
    });
  }
};

// node_modules/execa/lib/verbose/complete.js
var logResult = (result, verboseInfo) => {
  if (!isVerbose(verboseInfo)) {
    return;
  }
  logError(result, verboseInfo);
  logDuration(result, verboseInfo);
};
var logDuration = (result, verboseInfo) => {
  const verboseMessage = `(done in ${prettyMilliseconds(result.durationMs)})`;
  verboseLog({
    type: "duration",
    verboseMessage,
    verboseInfo,
    result
  });
};

// node_modules/execa/lib/return/reject.js
var handleResult = (result, verboseInfo, { reject }) => {
  logResult(result, verboseInfo);
  if (reject && result.failed) {
    throw result;
  }
  return result;
};

// node_modules/execa/lib/stdio/handle-sync.js
import { readFileSync as readFileSync4 } from "node:fs";

// node_modules/execa/lib/stdio/type.js
var getStdioItemType = (value, optionName) => {
  if (isAsyncGenerator(value)) {
    return "asyncGenerator";
  }
  if (isSyncGenerator(value)) {
    return "generator";
  }
  if (isUrl(value)) {
    return "fileUrl";
  }
  if (isFilePathObject(value)) {
    return "filePath";
  }
  if (isWebStream(value)) {
    return "webStream";
  }
  if (isStream(value, { checkOpen: false })) {
    return "native";
  }
  if (isUint8Array(value)) {
    return "uint8Array";
  }
  if (isAsyncIterableObject(value)) {
    return "asyncIterable";
  }
  if (isIterableObject(value)) {
    return "iterable";
  }
  if (isTransformStream(value)) {
    return getTransformStreamType({ transform: value }, optionName);
  }
  return isTransformOptions(value) ? getTransformObjectType(value, optionName) : "native";
};
var getTransformObjectType = (value, optionName) => {
  if (isDuplexStream(value.transform, { checkOpen: false })) {
    return getDuplexType(value, optionName);
  }
  return isTransformStream(value.transform) ? getTransformStreamType(value, optionName) : getGeneratorObjectType(value, optionName);
};
var getDuplexType = (value, optionName) => {
  validateNonGeneratorType(value, optionName, "Duplex stream");
  return "duplex";
};
var getTransformStreamType = (value, optionName) => {
  validateNonGeneratorType(value, optionName, "web TransformStream");
  return "webTransform";
};
var validateNonGeneratorType = ({ final, binary, objectMode }, optionName, typeName) => {
  checkUndefinedOption(final, `${optionName}.final`, typeName);
  checkUndefinedOption(binary, `${optionName}.binary`, typeName);
  checkBooleanOption(objectMode, `${optionName}.objectMode`);
};
var checkUndefinedOption = (value, optionName, typeName) => {
  if (value !== void 0) {
    throw new TypeError(`The \`${optionName}\` option can only be defined when using a generator, not a ${typeName}.`);
  }
};
var getGeneratorObjectType = ({ transform, final, binary, objectMode }, optionName) => {
  if (transform !== void 0 && !isGenerator(transform)) {
    throw new TypeError(`The \`${optionName}.transform\` option must be a generator, a Duplex stream or a web TransformStream.`);
  }
  if (isDuplexStream(final, { checkOpen: false })) {
    throw new TypeError(`The \`${optionName}.final\` option must not be a Duplex stream.`);
  }
  if (isTransformStream(final)) {
    throw new TypeError(`The \`${optionName}.final\` option must not be a web TransformStream.`);
  }
  if (final !== void 0 && !isGenerator(final)) {
    throw new TypeError(`The \`${optionName}.final\` option must be a generator.`);
  }
  checkBooleanOption(binary, `${optionName}.binary`);
  checkBooleanOption(objectMode, `${optionName}.objectMode`);
  return isAsyncGenerator(transform) || isAsyncGenerator(final) ? "asyncGenerator" : "generator";
};
var isGenerator = (value) => isAsyncGenerator(value) || isSyncGenerator(value);
var isAsyncGenerator = (value) => Object.prototype.toString.call(value) === "[object AsyncGeneratorFunction]";
var isSyncGenerator = (value) => Object.prototype.toString.call(value) === "[object GeneratorFunction]";
var isTransformOptions = (value) => isPlainObject(value) && (value.transform !== void 0 || value.final !== void 0);
var isUrl = (value) => Object.prototype.toString.call(value) === "[object URL]";
var isRegularUrl = (value) => isUrl(value) && value.protocol !== "file:";
var isFilePathObject = (value) => isPlainObject(value) && Object.keys(value).length > 0 && Object.keys(value).every((key) => FILE_PATH_KEYS.has(key)) && isFilePathString(value.file);
var FILE_PATH_KEYS = /* @__PURE__ */ new Set(["file", "append"]);
var isFilePathString = (file) => typeof file === "string";
var isStdioValueObject = (value) => isPlainObject(value) && Object.keys(value).length > 0 && Object.keys(value).every((key) => STDIO_VALUE_KEYS.has(key)) && "value" in value;
var STDIO_VALUE_KEYS = /* @__PURE__ */ new Set(["value", "input"]);
var isUnknownStdioString = (type, value) => type === "native" && typeof value === "string" && !KNOWN_STDIO_STRINGS.has(value);
var KNOWN_STDIO_STRINGS = /* @__PURE__ */ new Set(["ipc", "ignore", "inherit", "overlapped", "pipe"]);
var isReadableStream2 = (value) => Object.prototype.toString.call(value) === "[object ReadableStream]";
var isWritableStream2 = (value) => Object.prototype.toString.call(value) === "[object WritableStream]";
var isWebStream = (value) => isReadableStream2(value) || isWritableStream2(value);
var isTransformStream = (value) => isReadableStream2(value?.readable) && isWritableStream2(value?.writable);
var isAsyncIterableObject = (value) => isObject(value) && typeof value[Symbol.asyncIterator] === "function";
var isIterableObject = (value) => isObject(value) && typeof value[Symbol.iterator] === "function";
var isObject = (value) => typeof value === "object" && value !== null;
var TRANSFORM_TYPES = /* @__PURE__ */ new Set(["generator", "asyncGenerator", "duplex", "webTransform"]);
var FILE_TYPES = /* @__PURE__ */ new Set(["fileUrl", "filePath", "fileNumber"]);
var SPECIAL_DUPLICATE_TYPES_SYNC = /* @__PURE__ */ new Set(["fileUrl", "filePath"]);
var SPECIAL_DUPLICATE_TYPES = /* @__PURE__ */ new Set([...SPECIAL_DUPLICATE_TYPES_SYNC, "webStream", "nodeStream"]);
var FORBID_DUPLICATE_TYPES = /* @__PURE__ */ new Set(["webTransform", "duplex"]);
var TYPE_TO_MESSAGE = {
  generator: "a generator",
  asyncGenerator: "an async generator",
  fileUrl: "a file URL",
  filePath: "a file path string",
  fileNumber: "a file descriptor number",
  webStream: "a web stream",
  nodeStream: "a Node.js stream",
  webTransform: "a web TransformStream",
  duplex: "a Duplex stream",
  native: "any value",
  iterable: "an iterable",
  asyncIterable: "an async iterable",
  string: "a string",
  uint8Array: "a Uint8Array"
};

// node_modules/execa/lib/transform/object-mode.js
var getTransformObjectModes = (objectMode, index, newTransforms, direction) => direction === "output" ? getOutputObjectModes(objectMode, index, newTransforms) : getInputObjectModes(objectMode, index, newTransforms);
var getOutputObjectModes = (objectMode, index, newTransforms) => {
  const writableObjectMode = index !== 0 && newTransforms[index - 1].value.readableObjectMode;
  const readableObjectMode = objectMode ?? writableObjectMode;
  return { writableObjectMode, readableObjectMode };
};
var getInputObjectModes = (objectMode, index, newTransforms) => {
  const writableObjectMode = index === 0 ? objectMode === true : newTransforms[index - 1].value.readableObjectMode;
  const readableObjectMode = index !== newTransforms.length - 1 && (objectMode ?? writableObjectMode);
  return { writableObjectMode, readableObjectMode };
};
var getFdObjectMode = (stdioItems, direction) => {
  const lastTransform = stdioItems.findLast(({ type }) => TRANSFORM_TYPES.has(type));
  if (lastTransform === void 0) {
    return false;
  }
  return direction === "input" ? lastTransform.value.writableObjectMode : lastTransform.value.readableObjectMode;
};

// node_modules/execa/lib/transform/normalize.js
var normalizeTransforms = (stdioItems, optionName, direction, options) => [
  ...stdioItems.filter(({ type }) => !TRANSFORM_TYPES.has(type)),
  ...getTransforms(stdioItems, optionName, direction, options)
];
var getTransforms = (stdioItems, optionName, direction, { encoding }) => {
  const transforms = stdioItems.filter(({ type }) => TRANSFORM_TYPES.has(type));
  const newTransforms = Array.from({ length: transforms.length });
  for (const [index, stdioItem] of Object.entries(transforms)) {
    newTransforms[index] = normalizeTransform({
      stdioItem,
      index: Number(index),
      newTransforms,
      optionName,
      direction,
      encoding
    });
  }
  return sortTransforms(newTransforms, direction);
};
var normalizeTransform = ({ stdioItem, stdioItem: { type }, index, newTransforms, optionName, direction, encoding }) => {
  if (type === "duplex") {
    return normalizeDuplex({ stdioItem, optionName });
  }
  if (type === "webTransform") {
    return normalizeTransformStream({
      stdioItem,
      index,
      newTransforms,
      direction
    });
  }
  return normalizeGenerator({
    stdioItem,
    index,
    newTransforms,
    direction,
    encoding
  });
};
var normalizeDuplex = ({ stdioItem, optionName }) => {
  const { value } = stdioItem;
  const { transform } = value;
  const { writableObjectMode, readableObjectMode } = transform;
  const { objectMode = readableObjectMode } = value;
  if (objectMode && !readableObjectMode) {
    throw new TypeError(`The \`${optionName}.objectMode\` option can only be \`true\` if \`new Duplex({objectMode: true})\` is used.`);
  }
  if (!objectMode && readableObjectMode) {
    throw new TypeError(`The \`${optionName}.objectMode\` option cannot be \`false\` if \`new Duplex({objectMode: true})\` is used.`);
  }
  return {
    ...stdioItem,
    value: { transform, writableObjectMode, readableObjectMode }
  };
};
var normalizeTransformStream = ({ stdioItem, stdioItem: { value }, index, newTransforms, direction }) => {
  const { transform, objectMode } = isPlainObject(value) ? value : { transform: value };
  const { writableObjectMode, readableObjectMode } = getTransformObjectModes(objectMode, index, newTransforms, direction);
  return {
    ...stdioItem,
    value: { transform, writableObjectMode, readableObjectMode }
  };
};
var normalizeGenerator = ({ stdioItem, stdioItem: { value }, index, newTransforms, direction, encoding }) => {
  const {
    transform,
    final,
    binary: binaryOption = false,
    preserveNewlines = false,
    objectMode
  } = isPlainObject(value) ? value : { transform: value };
  const binary = binaryOption || BINARY_ENCODINGS.has(encoding);
  const { writableObjectMode, readableObjectMode } = getTransformObjectModes(objectMode, index, newTransforms, direction);
  return {
    ...stdioItem,
    value: {
      transform,
      final,
      binary,
      preserveNewlines,
      writableObjectMode,
      readableObjectMode
    }
  };
};
var sortTransforms = (newTransforms, direction) => direction === "input" ? newTransforms.reverse() : newTransforms;

// node_modules/execa/lib/stdio/direction.js
import process11 from "node:process";
var getStreamDirection = ({ stdioItems, isStdioArray, fdNumber, optionName }) => {
  const directions = stdioItems.map((stdioItem) => getStdioItemDirection(stdioItem, fdNumber, isStdioArray));
  if (directions.includes("input") && directions.includes("output")) {
    throw new TypeError(`The \`${optionName}\` option must not be an array of both readable and writable values.`);
  }
  return directions.find(Boolean) ?? DEFAULT_DIRECTION;
};
var getStdioItemDirection = (stdioItem, fdNumber, isStdioArray) => {
  const knownDirection = KNOWN_DIRECTIONS[fdNumber];
  const direction = getRequestedDirection(stdioItem);
  if (knownDirection === void 0) {
    return direction;
  }
  validateKnownDirection(stdioItem, knownDirection, isStdioArray);
  return knownDirection;
};
var getRequestedDirection = ({ type, value, direction, optionName }) => {
  const guessedDirection = guessStreamDirection[type](value);
  if (direction === "input" && guessedDirection === "output") {
    throw new TypeError(`The \`${optionName}\` option is invalid: \`input: true\` cannot be used with a writable value, which is always an output.`);
  }
  return direction ?? guessedDirection;
};
var validateKnownDirection = ({ type, value, optionName }, knownDirection, isStdioArray) => {
  if (!STREAM_TYPES.has(type) || !isStdioArray && getStandardStreamDirection(value) !== void 0) {
    return;
  }
  const guessedDirection = guessStreamDirection[type](value);
  if (guessedDirection === void 0 || guessedDirection === knownDirection) {
    return;
  }
  const valueName = guessedDirection === "input" ? "readable" : "writable";
  throw new TypeError(`The \`${optionName}\` option is invalid: a ${valueName} value is always an ${guessedDirection}, but \`${optionName}\` is an ${knownDirection}.`);
};
var STREAM_TYPES = /* @__PURE__ */ new Set(["native", "nodeStream", "webStream"]);
var KNOWN_DIRECTIONS = ["input", "output", "output"];
var anyDirection = () => void 0;
var alwaysInput = () => "input";
var guessStreamDirection = {
  generator: anyDirection,
  asyncGenerator: anyDirection,
  fileUrl: anyDirection,
  filePath: anyDirection,
  iterable: alwaysInput,
  asyncIterable: alwaysInput,
  uint8Array: alwaysInput,
  string: alwaysInput,
  webStream: (value) => isWritableStream2(value) ? "output" : "input",
  nodeStream(value) {
    if (!isReadableStream(value, { checkOpen: false })) {
      return "output";
    }
    return isWritableStream(value, { checkOpen: false }) ? void 0 : "input";
  },
  webTransform: anyDirection,
  duplex: anyDirection,
  native(value) {
    const standardStreamDirection = getStandardStreamDirection(value);
    if (standardStreamDirection !== void 0) {
      return standardStreamDirection;
    }
    if (isStream(value, { checkOpen: false })) {
      return guessStreamDirection.nodeStream(value);
    }
  }
};
var getStandardStreamDirection = (value) => {
  if ([0, process11.stdin].includes(value)) {
    return "input";
  }
  if ([1, 2, process11.stdout, process11.stderr].includes(value)) {
    return "output";
  }
};
var DEFAULT_DIRECTION = "output";

// node_modules/execa/lib/ipc/array.js
var normalizeIpcStdioArray = (stdioArray, ipc) => ipc ? [...stdioArray, "ipc"] : stdioArray;

// node_modules/execa/lib/stdio/stdio-option.js
var normalizeStdioOption = (options, verboseInfo, isSync) => {
  const { stdio, ipc, buffer } = options;
  const stdioArray = getStdioArray(stdio, options).map((stdioOption, fdNumber) => addDefaultValue2(stdioOption, fdNumber));
  validateIpcStdioOption(stdioArray);
  return isSync ? normalizeStdioSync(stdioArray, buffer, verboseInfo) : normalizeIpcStdioArray(stdioArray, ipc);
};
var validateIpcStdioOption = (stdioArray) => {
  if (stdioArray.some((stdioOption) => hasIpcStdioOption(stdioOption))) {
    throw new Error("The `ipc: true` option must be used instead of `stdio: 'ipc'`.");
  }
};
var hasIpcStdioOption = (stdioOption) => Array.isArray(stdioOption) ? stdioOption.some((item) => hasIpcStdioItem(item)) : hasIpcStdioItem(stdioOption);
var hasIpcStdioItem = (stdioOption) => isStdioValueObject(stdioOption) ? stdioOption.value === "ipc" : stdioOption === "ipc";
var getStdioArray = (stdio, options) => {
  if (stdio === void 0) {
    return STANDARD_STREAMS_ALIASES.map((alias) => options[alias]);
  }
  if (hasAlias(options)) {
    throw new Error(`It's not possible to provide \`stdio\` in combination with one of ${STANDARD_STREAMS_ALIASES.map((alias) => `\`${alias}\``).join(", ")}`);
  }
  if (typeof stdio === "string") {
    return [stdio, stdio, stdio];
  }
  if (!Array.isArray(stdio)) {
    throw new TypeError(`Expected \`stdio\` to be of type \`string\` or \`Array\`, got \`${getTypeName(stdio)}\``);
  }
  const length = Math.max(stdio.length, STANDARD_STREAMS_ALIASES.length);
  return Array.from({ length }, (_, fdNumber) => stdio[fdNumber]);
};
var hasAlias = (options) => STANDARD_STREAMS_ALIASES.some((alias) => options[alias] !== void 0);
var addDefaultValue2 = (stdioOption, fdNumber) => {
  if (Array.isArray(stdioOption)) {
    return stdioOption.map((item) => addDefaultValue2(item, fdNumber));
  }
  if (stdioOption === null || stdioOption === void 0) {
    return fdNumber >= STANDARD_STREAMS_ALIASES.length ? "ignore" : "pipe";
  }
  return stdioOption;
};
var normalizeStdioSync = (stdioArray, buffer, verboseInfo) => stdioArray.map((stdioOption, fdNumber) => !buffer[fdNumber] && isStandardOutputFd(fdNumber) && !isFullVerbose(verboseInfo, fdNumber) && isOutputPipeOnly(stdioOption, fdNumber) ? "ignore" : stdioOption);
var isOutputPipeOnly = (stdioOption, fdNumber) => isOutputPipe(stdioOption, fdNumber) || Array.isArray(stdioOption) && stdioOption.length > 0 && stdioOption.every((item) => isOutputPipe(item, fdNumber));
var isOutputPipe = (stdioOption, fdNumber) => stdioOption === "pipe" || isOutputPipeObject(stdioOption, fdNumber);
var isOutputPipeObject = (stdioOption, fdNumber) => isStdioValueObject(stdioOption) && stdioOption.value === "pipe" && (stdioOption.input === void 0 || stdioOption.input === false || isFixedOutputPipe(fdNumber, stdioOption.input));
var isFixedOutputPipe = (fdNumber, input) => input === true && isStandardOutputFd(fdNumber);
var isStandardOutputFd = (fdNumber) => fdNumber === 1 || fdNumber === 2;

// node_modules/execa/lib/stdio/native.js
import { readFileSync as readFileSync3 } from "node:fs";
import tty2 from "node:tty";

// node_modules/execa/lib/arguments/fd-options.js
var getToStream = (destination, to = "stdin") => {
  const isWritable = true;
  const { options, fileDescriptors } = SUBPROCESS_OPTIONS.get(destination);
  const fdNumber = getFdNumber(fileDescriptors, to, isWritable);
  const destinationStream = destination.stdio[fdNumber];
  if (destinationStream === null) {
    throw new TypeError(getInvalidStdioOptionMessage(fdNumber, to, options, isWritable));
  }
  return destinationStream;
};
var getFromStream = (source2, from = "stdout") => {
  const isWritable = false;
  const { options, fileDescriptors } = SUBPROCESS_OPTIONS.get(source2);
  const fdNumber = getFdNumber(fileDescriptors, from, isWritable);
  const sourceStream = fdNumber === "all" ? source2.all : source2.stdio[fdNumber];
  if (sourceStream === null || sourceStream === void 0) {
    throw new TypeError(getInvalidStdioOptionMessage(fdNumber, from, options, isWritable));
  }
  return sourceStream;
};
var SUBPROCESS_OPTIONS = /* @__PURE__ */ new WeakMap();
var getFdNumber = (fileDescriptors, fdName, isWritable) => {
  const fdNumber = parseFdNumber(fdName, isWritable);
  validateFdNumber(fdNumber, fdName, isWritable, fileDescriptors);
  return fdNumber;
};
var parseFdNumber = (fdName, isWritable) => {
  const fdNumber = parseFd(fdName);
  if (fdNumber !== void 0) {
    return fdNumber;
  }
  const { validOptions, defaultValue } = isWritable ? { validOptions: '"stdin"', defaultValue: "stdin" } : { validOptions: '"stdout", "stderr", "all"', defaultValue: "stdout" };
  throw new TypeError(`"${getOptionName(isWritable)}" must not be "${fdName}".
It must be ${validOptions} or "fd3", "fd4" (and so on).
It is optional and defaults to "${defaultValue}".`);
};
var validateFdNumber = (fdNumber, fdName, isWritable, fileDescriptors) => {
  const fileDescriptor = fileDescriptors[getUsedDescriptor(fdNumber)];
  if (fileDescriptor === void 0) {
    throw new TypeError(`"${getOptionName(isWritable)}" must not be ${fdName}. That file descriptor does not exist.
Please set the "stdio" option to ensure that file descriptor exists.`);
  }
  if (!isWritable && fileDescriptor.direction === "input") {
    throw new TypeError(`"${getOptionName(isWritable)}" must not be ${fdName}. It must be a readable stream, not writable.`);
  }
  if (isWritable && fileDescriptor.direction !== "input") {
    throw new TypeError(`"${getOptionName(isWritable)}" must not be ${fdName}. It must be a writable stream, not readable.
If you meant to use it as input, please set its "stdio" option to \`{value: 'pipe', input: true}\`.`);
  }
};
var getInvalidStdioOptionMessage = (fdNumber, fdName, options, isWritable) => {
  if (fdNumber === "all" && !options.all) {
    return `The "all" option must be true to use "from: 'all'".`;
  }
  const { optionName, optionValue } = getInvalidStdioOption(fdNumber, options);
  return `The "${optionName}: ${serializeOptionValue(optionValue)}" option is incompatible with using "${getOptionName(isWritable)}: ${serializeOptionValue(fdName)}".
Please set this option with "pipe" instead.`;
};
var getInvalidStdioOption = (fdNumber, { stdin, stdout, stderr, stdio }) => {
  const usedDescriptor = getUsedDescriptor(fdNumber);
  if (usedDescriptor === 0 && stdin !== void 0) {
    return { optionName: "stdin", optionValue: stdin };
  }
  if (usedDescriptor === 1 && stdout !== void 0) {
    return { optionName: "stdout", optionValue: stdout };
  }
  return usedDescriptor === 2 && stderr !== void 0 ? { optionName: "stderr", optionValue: stderr } : { optionName: `stdio[${usedDescriptor}]`, optionValue: stdio[usedDescriptor] };
};
var getUsedDescriptor = (fdNumber) => fdNumber === "all" ? 1 : fdNumber;
var getOptionName = (isWritable) => isWritable ? "to" : "from";
var serializeOptionValue = (value) => {
  if (typeof value === "string") {
    return `'${value}'`;
  }
  return typeof value === "number" ? `${value}` : "Stream";
};

// node_modules/execa/lib/stdio/native.js
var handleNativeStream = ({ stdioItem, stdioItem: { type }, isStdioArray, fdNumber, direction, isSync }) => {
  if (!isStdioArray || type !== "native") {
    return stdioItem;
  }
  return isSync ? handleNativeStreamSync({ stdioItem, fdNumber, direction }) : handleNativeStreamAsync({ stdioItem, fdNumber });
};
var handleNativeStreamSync = ({ stdioItem, stdioItem: { value, optionName }, fdNumber, direction }) => {
  const targetFd = getTargetFd({
    value,
    optionName,
    fdNumber,
    direction
  });
  if (targetFd !== void 0) {
    return targetFd;
  }
  if (isStream(value, { checkOpen: false })) {
    throw new TypeError(`The \`${optionName}: Stream\` option cannot both be an array and include a stream with synchronous methods.`);
  }
  return stdioItem;
};
var getTargetFd = ({ value, optionName, fdNumber, direction }) => {
  const targetFdNumber = getTargetFdNumber(value, fdNumber);
  if (targetFdNumber === void 0) {
    return;
  }
  if (direction === "output") {
    return { type: "fileNumber", value: targetFdNumber, optionName };
  }
  if (tty2.isatty(targetFdNumber)) {
    throw new TypeError(`The \`${optionName}: ${serializeOptionValue(value)}\` option is invalid: it cannot be a TTY with synchronous methods.`);
  }
  return { type: "uint8Array", contents: () => [bufferToUint8Array(readFileSync3(targetFdNumber))], optionName };
};
var getTargetFdNumber = (value, fdNumber) => {
  if (value === "inherit") {
    return fdNumber;
  }
  if (typeof value === "number") {
    return value;
  }
  const standardStreamIndex = STANDARD_STREAMS.indexOf(value);
  if (standardStreamIndex !== -1) {
    return standardStreamIndex;
  }
};
var handleNativeStreamAsync = ({ stdioItem, stdioItem: { value, optionName }, fdNumber }) => {
  if (value === "inherit") {
    return { type: "nodeStream", value: getStandardStream(fdNumber, value, optionName), optionName };
  }
  if (typeof value === "number") {
    return { type: "nodeStream", value: getStandardStream(value, value, optionName), optionName };
  }
  return isStream(value, { checkOpen: false }) ? { type: "nodeStream", value, optionName } : stdioItem;
};
var getStandardStream = (fdNumber, value, optionName) => {
  const standardStream = STANDARD_STREAMS[fdNumber];
  if (standardStream === void 0) {
    throw new TypeError(`The \`${optionName}: ${value}\` option is invalid: no such standard stream.`);
  }
  return standardStream;
};

// node_modules/execa/lib/stdio/input-option.js
var handleInputOptions = ({ input, inputFile }, fdNumber) => fdNumber === 0 ? [
  ...handleInputOption(input),
  ...handleInputFileOption(inputFile)
] : [];
var handleInputOption = (input) => input === void 0 ? [] : [{
  type: getInputType(input),
  value: input,
  optionName: "input"
}];
var getInputType = (input) => {
  if (isReadableStream(input, { checkOpen: false })) {
    return "nodeStream";
  }
  if (typeof input === "string") {
    return "string";
  }
  if (isUint8Array(input)) {
    return "uint8Array";
  }
  throw new Error("The `input` option must be a string, a Uint8Array or a Node.js Readable stream.");
};
var handleInputFileOption = (inputFile) => inputFile === void 0 ? [] : [{
  ...getInputFileType(inputFile),
  optionName: "inputFile"
}];
var getInputFileType = (inputFile) => {
  if (isUrl(inputFile)) {
    return { type: "fileUrl", value: inputFile };
  }
  if (isFilePathString(inputFile)) {
    return { type: "filePath", value: { file: inputFile } };
  }
  throw new Error("The `inputFile` option must be a file path string or a file URL.");
};

// node_modules/execa/lib/stdio/duplicate.js
import path11 from "node:path";
import { fileURLToPath as fileURLToPath3 } from "node:url";
var isFileType = (type) => SPECIAL_DUPLICATE_TYPES_SYNC.has(type);
var getFileTarget = ({ type, value }) => type === "filePath" ? path11.resolve(value.file) : fileURLToPath3(value);
var filterDuplicates = (stdioItems) => stdioItems.filter((stdioItemOne, indexOne) => stdioItems.every((stdioItemTwo, indexTwo) => !hasSameValueAndDirection(stdioItemOne, stdioItemTwo) || indexOne >= indexTwo || stdioItemOne.type === "generator" || stdioItemOne.type === "asyncGenerator"));
var hasSameValueAndDirection = (stdioItemOne, stdioItemTwo) => stdioItemOne.value === stdioItemTwo.value && stdioItemOne.direction === stdioItemTwo.direction;
var getDuplicateStream = ({ stdioItem: { type, value, optionName }, direction, fileDescriptors, isSync }) => {
  const otherStdioItems = getOtherStdioItems(fileDescriptors, type);
  if (otherStdioItems.length === 0) {
    return;
  }
  if (isSync) {
    validateDuplicateStreamSync({
      otherStdioItems,
      type,
      value,
      optionName,
      direction
    });
    return;
  }
  if (SPECIAL_DUPLICATE_TYPES.has(type)) {
    return getDuplicateStreamInstance({
      otherStdioItems,
      type,
      value,
      optionName,
      direction
    });
  }
  if (FORBID_DUPLICATE_TYPES.has(type)) {
    validateDuplicateTransform({
      otherStdioItems,
      type,
      value,
      optionName
    });
  }
};
var getOtherStdioItems = (fileDescriptors, type) => fileDescriptors.flatMap(
  ({ direction, stdioItems }) => stdioItems.map((stdioItem) => ({ ...stdioItem, direction }))
).filter((stdioItem) => isSameDuplicateType(stdioItem.type, type));
var isSameDuplicateType = (otherType, type) => otherType === type || isFileType(otherType) && isFileType(type);
var validateDuplicateStreamSync = ({ otherStdioItems, type, value, optionName, direction }) => {
  if (SPECIAL_DUPLICATE_TYPES_SYNC.has(type)) {
    getDuplicateStreamInstance({
      otherStdioItems,
      type,
      value,
      optionName,
      direction
    });
  }
};
var getDuplicateStreamInstance = ({ otherStdioItems, type, value, optionName, direction }) => {
  const duplicateStdioItems = otherStdioItems.filter((stdioItem) => hasSameValue(stdioItem, type, value));
  if (duplicateStdioItems.length === 0) {
    return;
  }
  const differentStdioItem = duplicateStdioItems.find((stdioItem) => stdioItem.direction !== direction);
  throwOnDuplicateStream(differentStdioItem, optionName, type);
  return direction === "output" || type === "webStream" ? duplicateStdioItems[0].stream : void 0;
};
var hasSameValue = (otherStdioItem, type, value) => isFileType(otherStdioItem.type) ? getFileTarget(otherStdioItem) === getFileTarget({ type, value }) : otherStdioItem.value === value;
var validateDuplicateTransform = ({ otherStdioItems, type, value, optionName }) => {
  const duplicateStdioItem = otherStdioItems.find(({ value: { transform } }) => transform === value.transform);
  throwOnDuplicateStream(duplicateStdioItem, optionName, type);
};
var throwOnDuplicateStream = (stdioItem, optionName, type) => {
  if (stdioItem !== void 0) {
    throw new TypeError(`The \`${stdioItem.optionName}\` and \`${optionName}\` options must not target ${TYPE_TO_MESSAGE[type]} that is the same.`);
  }
};

// node_modules/execa/lib/stdio/handle.js
var handleStdio = (addProperties3, options, verboseInfo, isSync) => {
  const stdio = normalizeStdioOption(options, verboseInfo, isSync);
  const initialFileDescriptors = stdio.map((stdioOption, fdNumber) => getFileDescriptor({
    stdioOption,
    fdNumber,
    options,
    isSync
  }));
  const fileDescriptors = getFinalFileDescriptors({
    initialFileDescriptors,
    addProperties: addProperties3,
    options,
    isSync
  });
  options.stdio = fileDescriptors.map(({ stdioItems }) => forwardStdio(stdioItems));
  return fileDescriptors;
};
var getFileDescriptor = ({ stdioOption, fdNumber, options, isSync }) => {
  const optionName = getStreamName(fdNumber);
  const { stdioItems: initialStdioItems, isStdioArray } = initializeStdioItems({
    stdioOption,
    fdNumber,
    options,
    optionName
  });
  const direction = getStreamDirection({
    stdioItems: initialStdioItems,
    isStdioArray,
    fdNumber,
    optionName
  });
  const stdioItems = initialStdioItems.map((stdioItem) => handleNativeStream({
    stdioItem,
    isStdioArray,
    fdNumber,
    direction,
    isSync
  }));
  const normalizedStdioItems = normalizeTransforms(stdioItems, optionName, direction, options);
  const objectMode = getFdObjectMode(normalizedStdioItems, direction);
  validateFileObjectMode(normalizedStdioItems, objectMode);
  return { direction, objectMode, stdioItems: normalizedStdioItems };
};
var initializeStdioItems = ({ stdioOption, fdNumber, options, optionName }) => {
  const values = Array.isArray(stdioOption) ? stdioOption : [stdioOption];
  const inputStdioItems = handleInputOptions(options, fdNumber);
  const initialStdioItems = [
    ...omitInheritedStdin(values.map((value) => initializeStdioItem(value, optionName)), inputStdioItems),
    ...inputStdioItems
  ];
  const stdioItems = filterDuplicates(initialStdioItems);
  const isStdioArray = stdioItems.length > 1;
  validateStdioArray(stdioItems, isStdioArray, optionName);
  validateStreams(stdioItems, isStdioArray);
  return { stdioItems, isStdioArray };
};
var omitInheritedStdin = (stdioItems, inputStdioItems) => inputStdioItems.length > 0 && isInheritedStdinOnly(stdioItems) ? [] : stdioItems;
var isInheritedStdinOnly = (stdioItems) => stdioItems.length === 1 && stdioItems[0].type === "native" && stdioItems[0].value === "inherit";
var initializeStdioItem = (value, optionName) => {
  if (isStdioValueObject(value)) {
    return initializeStdioValueObject(value, optionName);
  }
  return {
    type: getStdioItemType(value, optionName),
    value,
    optionName
  };
};
var initializeStdioValueObject = ({ value, input }, optionName) => {
  checkBooleanOption(input, `${optionName}.input`);
  return {
    type: getStdioItemType(value, optionName),
    value,
    direction: input ? "input" : void 0,
    optionName
  };
};
var validateStdioArray = (stdioItems, isStdioArray, optionName) => {
  if (stdioItems.length === 0) {
    throw new TypeError(`The \`${optionName}\` option must not be an empty array.`);
  }
  if (!isStdioArray) {
    return;
  }
  for (const { value, optionName: optionName2 } of stdioItems) {
    if (INVALID_STDIO_ARRAY_OPTIONS.has(value)) {
      throw new Error(`The \`${optionName2}\` option must not include \`${value}\`.`);
    }
  }
};
var INVALID_STDIO_ARRAY_OPTIONS = /* @__PURE__ */ new Set(["ignore"]);
var validateStreams = (stdioItems, isStdioArray) => {
  for (const stdioItem of stdioItems) {
    validateFileStdio(stdioItem);
    validateFileDescriptorStdio(stdioItem);
    validateNativeStdio(stdioItem, isStdioArray);
  }
};
var validateFileDescriptorStdio = ({ type, value, optionName }) => {
  if (type !== "native") {
    return;
  }
  const fileDescriptor = typeof value === "number" ? value : value?.fd;
  if (typeof fileDescriptor === "number" && (!Number.isInteger(fileDescriptor) || fileDescriptor < 0 || fileDescriptor > MAX_FILE_DESCRIPTOR)) {
    throw new TypeError(`The \`${optionName}\` option must be a non-negative 32-bit integer: got ${fileDescriptor}.`);
  }
};
var MAX_FILE_DESCRIPTOR = 2 ** 31 - 1;
var validateNativeStdio = ({ type, value, optionName }, isStdioArray) => {
  if (type !== "native") {
    return;
  }
  if (isFileHandle(value)) {
    if (isStdioArray) {
      throw new TypeError(`The \`${optionName}\` option cannot combine file handles with other values.`);
    }
    return;
  }
  if (typeof value !== "string" && typeof value !== "number" && !isStream(value, { checkOpen: false })) {
    throw new TypeError(`The \`${optionName}\` option is invalid: ${String(value)} (${typeof value}).`);
  }
};
var isFileHandle = (value) => typeof value?.fd === "number" && !isStream(value, { checkOpen: false });
var validateFileStdio = ({ type, value, optionName }) => {
  if (isRegularUrl(value)) {
    throw new TypeError(`The \`${optionName}: URL\` option must use the \`file:\` scheme.
For example, you can use the \`pathToFileURL()\` method of the \`url\` core module.`);
  }
  if (isUnknownStdioString(type, value)) {
    throw new TypeError(`The \`${optionName}: { file: '...' }\` option must be used instead of \`${optionName}: '...'\`.`);
  }
};
var validateFileObjectMode = (stdioItems, objectMode) => {
  if (!objectMode) {
    return;
  }
  const fileStdioItem = stdioItems.find(({ type }) => FILE_TYPES.has(type));
  if (fileStdioItem !== void 0) {
    throw new TypeError(`The \`${fileStdioItem.optionName}\` option cannot use both files and transforms in objectMode.`);
  }
};
var getFinalFileDescriptors = ({ initialFileDescriptors, addProperties: addProperties3, options, isSync }) => {
  const fileDescriptors = [];
  try {
    for (const fileDescriptor of initialFileDescriptors) {
      addFinalFileDescriptor({
        fileDescriptor,
        fileDescriptors,
        addProperties: addProperties3,
        options,
        isSync
      });
    }
    return fileDescriptors;
  } catch (error) {
    cleanupCustomStreams(fileDescriptors);
    throw error;
  }
};
var addFinalFileDescriptor = ({ fileDescriptor, fileDescriptors, addProperties: addProperties3, options, isSync }) => {
  const { direction, objectMode, stdioItems } = fileDescriptor;
  const finalFileDescriptor = { direction, objectMode, stdioItems: [] };
  fileDescriptors.push(finalFileDescriptor);
  for (const stdioItem of stdioItems) {
    finalFileDescriptor.stdioItems.push(addStreamProperties({
      stdioItem,
      addProperties: addProperties3,
      direction,
      objectMode,
      options,
      fileDescriptors,
      isSync
    }));
  }
};
var addStreamProperties = ({ stdioItem, addProperties: addProperties3, direction, objectMode, options, fileDescriptors, isSync }) => {
  const duplicateStream = getDuplicateStream({
    stdioItem,
    direction,
    fileDescriptors,
    isSync
  });
  if (duplicateStream !== void 0) {
    return { ...stdioItem, stream: duplicateStream };
  }
  return {
    ...stdioItem,
    ...addProperties3[direction][stdioItem.type](stdioItem, options, objectMode)
  };
};
var cleanupCustomStreams = (fileDescriptors) => {
  for (const { stream } of fileDescriptors.flatMap(({ stdioItems }) => stdioItems)) {
    if (stream === void 0 || isStandardStream(stream)) {
      continue;
    }
    stream.on("error", () => {
    });
    stream.destroy();
  }
};
var forwardStdio = (stdioItems) => {
  if (stdioItems.length > 1) {
    return stdioItems.some(({ value: value2 }) => value2 === "overlapped") ? "overlapped" : "pipe";
  }
  const [{ type, value }] = stdioItems;
  return type === "native" ? value : "pipe";
};

// node_modules/execa/lib/stdio/handle-sync.js
var handleStdioSync = (options, verboseInfo) => handleStdio(addPropertiesSync, options, verboseInfo, true);
var forbiddenIfSync = ({ type, optionName }) => {
  throwInvalidSyncValue(optionName, TYPE_TO_MESSAGE[type]);
};
var forbiddenNativeIfSync = ({ optionName, value }) => {
  if (value === "overlapped") {
    throwInvalidSyncValue(optionName, `"${value}"`);
  }
  return {};
};
var forbiddenNativeInputIfSync = (stdioItem) => {
  const { optionName, value } = stdioItem;
  if (value === "pipe" && optionName !== "stdin") {
    throw new TypeError(`Only the \`stdin\` option, not \`${optionName}\`, can be an input pipe with synchronous methods.`);
  }
  return forbiddenNativeIfSync(stdioItem);
};
var forbiddenInputTransformIfSync = ({ optionName }) => {
  if (optionName !== "stdin") {
    throw new TypeError(`Only the \`stdin\` option, not \`${optionName}\`, can be an input transform with synchronous methods.`);
  }
};
var throwInvalidSyncValue = (optionName, value) => {
  throw new TypeError(`The \`${optionName}\` option cannot be ${value} with synchronous methods.`);
};
var addProperties = {
  generator() {
  },
  asyncGenerator: forbiddenIfSync,
  webStream: forbiddenIfSync,
  nodeStream: forbiddenIfSync,
  webTransform: forbiddenIfSync,
  duplex: forbiddenIfSync,
  asyncIterable: forbiddenIfSync,
  native: forbiddenNativeIfSync
};
var addPropertiesSync = {
  input: {
    ...addProperties,
    generator: forbiddenInputTransformIfSync,
    native: forbiddenNativeInputIfSync,
    // Files and iterables are read lazily, so that a file which cannot be read, or an iterable which throws, is reported like any other early error, instead of being thrown as a raw error
    fileUrl: ({ value }) => ({ contents: () => [bufferToUint8Array(readFileSync4(value))] }),
    filePath: ({ value: { file } }) => ({ contents: () => [bufferToUint8Array(readFileSync4(file))] }),
    fileNumber: forbiddenIfSync,
    iterable: ({ value }) => ({ contents: () => [...value] }),
    string: ({ value }) => ({ contents: [value] }),
    // `contents` is already set when reading from a file descriptor
    uint8Array: ({ value, contents = [value] }) => ({ contents })
  },
  output: {
    ...addProperties,
    fileUrl: ({ value }) => ({ path: value }),
    filePath: ({ value: { file, append } }) => ({ path: file, append }),
    fileNumber: ({ value }) => ({ path: value }),
    iterable: forbiddenIfSync,
    string: forbiddenIfSync,
    uint8Array: forbiddenIfSync
  }
};

// node_modules/execa/lib/transform/generator.js
import { Transform, getDefaultHighWaterMark } from "node:stream";
import { Buffer as Buffer6 } from "node:buffer";

// node_modules/execa/lib/transform/validate.js
import { Buffer as Buffer4 } from "node:buffer";
var getValidateTransformInput = (writableObjectMode, optionName) => writableObjectMode ? void 0 : validateStringTransformInput.bind(void 0, optionName);
var validateStringTransformInput = function* (optionName, chunk) {
  if (typeof chunk !== "string" && !isUint8Array(chunk) && !Buffer4.isBuffer(chunk)) {
    throw new TypeError(`The \`${optionName}\` option's transform must use "objectMode: true" to receive as input: ${typeof chunk}.`);
  }
  yield chunk;
};
var getValidateTransformReturn = (readableObjectMode, optionName) => readableObjectMode ? validateObjectTransformReturn.bind(void 0, optionName) : validateStringTransformReturn.bind(void 0, optionName);
var validateObjectTransformReturn = function* (optionName, chunk) {
  validateEmptyReturn(optionName, chunk);
  yield chunk;
};
var validateStringTransformReturn = function* (optionName, chunk) {
  validateEmptyReturn(optionName, chunk);
  if (typeof chunk !== "string" && !isUint8Array(chunk)) {
    throw new TypeError(`The \`${optionName}\` option's function must yield a string or an Uint8Array, not ${typeof chunk}.`);
  }
  yield chunk;
};
var validateEmptyReturn = (optionName, chunk) => {
  if (chunk === null || chunk === void 0) {
    throw new TypeError(`The \`${optionName}\` option's function must not call \`yield ${chunk}\`.
Instead, \`yield\` should either be called with a value, or not be called at all. For example:
  if (condition) { yield value; }`);
  }
};

// node_modules/execa/lib/transform/encoding-transform.js
import { Buffer as Buffer5 } from "node:buffer";
import { StringDecoder as StringDecoder2 } from "node:string_decoder";
var getEncodingTransformGenerator = (binary, encoding, skipped) => {
  if (skipped) {
    return;
  }
  if (binary) {
    return { transform: encodingUint8ArrayGenerator.bind(void 0, new TextEncoder()) };
  }
  const stringDecoder = new StringDecoder2(encoding);
  return {
    transform: encodingStringGenerator.bind(void 0, stringDecoder),
    final: encodingStringFinal.bind(void 0, stringDecoder)
  };
};
var encodingUint8ArrayGenerator = function* (textEncoder3, chunk) {
  if (Buffer5.isBuffer(chunk)) {
    yield bufferToUint8Array(chunk);
  } else if (typeof chunk === "string") {
    yield textEncoder3.encode(chunk);
  } else {
    yield chunk;
  }
};
var encodingStringGenerator = function* (stringDecoder, chunk) {
  yield isUint8Array(chunk) ? stringDecoder.write(chunk) : chunk;
};
var encodingStringFinal = function* (stringDecoder) {
  const lastChunk = stringDecoder.end();
  if (lastChunk !== "") {
    yield lastChunk;
  }
};
var getStringToBytesGenerator = (binary, encoding, skipped) => skipped || encoding === "utf8" ? void 0 : { transform: stringToBytesGenerator.bind(void 0, getStringEncoding(binary, encoding)) };
var stringToBytesGenerator = function* (stringEncoding, chunk) {
  yield typeof chunk === "string" ? bufferToUint8Array(Buffer5.from(chunk, stringEncoding)) : chunk;
};

// node_modules/execa/lib/transform/run-async.js
import { callbackify } from "node:util";
var pushChunks = callbackify(async (getChunks2, state, getChunksArguments, transformStream) => {
  state.currentIterable = getChunks2(...getChunksArguments);
  try {
    for await (const chunk of state.currentIterable) {
      transformStream.push(chunk);
    }
  } finally {
    delete state.currentIterable;
  }
});
var transformChunk = async function* (chunk, generators, index) {
  if (index === generators.length) {
    yield chunk;
    return;
  }
  const { transform = identityGenerator } = generators[index];
  for await (const transformedChunk of transform(chunk)) {
    yield* transformChunk(transformedChunk, generators, index + 1);
  }
};
var finalChunks = async function* (generators) {
  for (const [index, { final }] of Object.entries(generators)) {
    yield* generatorFinalChunks(final, Number(index), generators);
  }
};
var generatorFinalChunks = async function* (final, index, generators) {
  if (final === void 0) {
    return;
  }
  for await (const finalChunk of final()) {
    yield* transformChunk(finalChunk, generators, index + 1);
  }
};
var destroyTransform = callbackify(async ({ currentIterable }, error) => {
  if (currentIterable !== void 0) {
    await (error ? currentIterable.throw(error) : currentIterable.return());
    return;
  }
  if (error) {
    throw error;
  }
});
var identityGenerator = function* (chunk) {
  yield chunk;
};

// node_modules/execa/lib/transform/run-sync.js
var pushChunksSync = (getChunksSync, getChunksArguments, transformStream, done) => {
  try {
    for (const chunk of getChunksSync(...getChunksArguments)) {
      transformStream.push(chunk);
    }
    done();
  } catch (error) {
    done(normalizeTransformError(error));
  }
};
var normalizeTransformError = (error) => error || Object.assign(new Error("Promise was rejected with falsy value"), {
  code: "ERR_FALSY_VALUE_REJECTION",
  reason: error
});
var runTransformSync = (generators, chunks) => {
  try {
    return [
      ...chunks.flatMap((chunk) => [...transformChunkSync(chunk, generators, 0)]),
      ...finalChunksSync(generators)
    ];
  } catch (error) {
    throw normalizeTransformError(error);
  }
};
var transformChunkSync = function* (chunk, generators, index) {
  if (index === generators.length) {
    yield chunk;
    return;
  }
  const { transform = identityGenerator2 } = generators[index];
  for (const transformedChunk of transform(chunk)) {
    yield* transformChunkSync(transformedChunk, generators, index + 1);
  }
};
var finalChunksSync = function* (generators) {
  for (const [index, { final }] of Object.entries(generators)) {
    yield* generatorFinalChunksSync(final, Number(index), generators);
  }
};
var generatorFinalChunksSync = function* (final, index, generators) {
  if (final === void 0) {
    return;
  }
  for (const finalChunk of final()) {
    yield* transformChunkSync(finalChunk, generators, index + 1);
  }
};
var identityGenerator2 = function* (chunk) {
  yield chunk;
};

// node_modules/execa/lib/transform/generator.js
var generatorToStream = ({
  value,
  value: {
    transform,
    final,
    binary,
    writableObjectMode,
    readableObjectMode
  },
  optionName
}, { encoding }) => {
  const state = {};
  const generators = addInternalGenerators(value, encoding, optionName);
  const transformAsync = isAsyncGenerator(transform);
  const finalAsync = isAsyncGenerator(final);
  const transformMethod = transformAsync ? pushChunks.bind(void 0, transformChunk, state) : pushChunksSync.bind(void 0, transformChunkSync);
  const finalMethod = transformAsync || finalAsync ? pushChunks.bind(void 0, finalChunks, state) : pushChunksSync.bind(void 0, finalChunksSync);
  const destroyMethod = transformAsync || finalAsync ? destroyTransform.bind(void 0, state) : void 0;
  const stream = new Transform({
    writableObjectMode,
    writableHighWaterMark: getDefaultHighWaterMark(writableObjectMode),
    readableObjectMode,
    readableHighWaterMark: getDefaultHighWaterMark(readableObjectMode),
    // A string written to the stream is converted to bytes with this encoding, which `getEncodingTransformGenerator()` then decodes with the `encoding` option
    defaultEncoding: getStringEncoding(binary, encoding),
    transform(chunk, encoding2, done) {
      transformMethod([chunk, generators, 0], this, done);
    },
    flush(done) {
      finalMethod([generators], this, done);
    },
    destroy: destroyMethod
  });
  return { stream };
};
var runGeneratorsSync = (chunks, stdioItems, encoding, isInput) => {
  const generators = stdioItems.filter(({ type }) => type === "generator");
  const reversedGenerators = isInput ? generators.reverse() : generators;
  for (const { value, optionName } of reversedGenerators) {
    if (!value.writableObjectMode) {
      const stringEncoding = getStringEncoding(value.binary, encoding);
      chunks = chunks.map((chunk) => typeof chunk === "string" ? Buffer6.from(chunk, stringEncoding) : chunk);
    }
    const generators2 = addInternalGenerators(value, encoding, optionName);
    chunks = runTransformSync(generators2, chunks);
  }
  return chunks;
};
var addInternalGenerators = ({ transform, final, binary, writableObjectMode, readableObjectMode, preserveNewlines }, encoding, optionName) => {
  const state = {};
  return [
    { transform: getValidateTransformInput(writableObjectMode, optionName) },
    getEncodingTransformGenerator(binary, encoding, writableObjectMode),
    getSplitLinesGenerator(binary, preserveNewlines, writableObjectMode, state),
    { transform, final },
    { transform: getValidateTransformReturn(readableObjectMode, optionName) },
    getAppendNewlineGenerator({
      binary,
      preserveNewlines,
      readableObjectMode,
      state,
      encoding
    }),
    getStringToBytesGenerator(binary, encoding, readableObjectMode)
  ].filter(Boolean);
};

// node_modules/execa/lib/io/input-sync.js
var addInputOptionsSync = (fileDescriptors, options) => {
  for (const fdNumber of getInputFdNumbers(fileDescriptors)) {
    addInputOptionSync(fileDescriptors, fdNumber, options);
  }
};
var getInputFdNumbers = (fileDescriptors) => new Set(Object.entries(fileDescriptors).filter(([, { direction }]) => direction === "input").map(([fdNumber]) => Number(fdNumber)));
var addInputOptionSync = (fileDescriptors, fdNumber, options) => {
  const { stdioItems } = fileDescriptors[fdNumber];
  const allStdioItems = stdioItems.filter(({ contents }) => contents !== void 0);
  if (allStdioItems.length === 0 && stdioItems.every(({ type }) => type !== "generator")) {
    return;
  }
  if (fdNumber !== 0) {
    const [{ type, optionName }] = allStdioItems;
    throw new TypeError(`Only the \`stdin\` option, not \`${optionName}\`, can be ${TYPE_TO_MESSAGE[type]} with synchronous methods.`);
  }
  const chunks = allStdioItems.flatMap(({ type, contents }) => getChunks(type, typeof contents === "function" ? contents() : contents));
  options.input = applyInputGeneratorsSync(chunks, stdioItems, options.encoding);
};
var getChunks = (type, chunks) => type === "iterable" ? chunks : chunks.filter((chunk) => chunk.length > 0);
var applyInputGeneratorsSync = (chunks, stdioItems, encoding) => {
  const newContents = runGeneratorsSync(chunks, stdioItems, getInputEncoding(encoding), true);
  validateSerializable(newContents);
  return joinToUint8Array(newContents);
};
var validateSerializable = (newContents) => {
  const invalidItem = newContents.find((item) => !isSerializableInput(item));
  if (invalidItem !== void 0) {
    throwOnSerializableInput("stdin", invalidItem);
  }
};
var isSerializableInput = (item) => typeof item === "string" || isUint8Array(item);
var throwOnSerializableInput = (optionName, invalidItem) => {
  throw new TypeError(`The \`${optionName}\` option is invalid: when passing objects as input, a transform must be used to serialize them to strings or Uint8Arrays: ${invalidItem}.`);
};

// node_modules/execa/lib/io/output-sync.js
import { writeFileSync as writeFileSync3, appendFileSync } from "node:fs";

// node_modules/execa/lib/verbose/output.js
var shouldLogOutput = ({ stdioItems, encoding, verboseInfo, fdNumber }) => fdNumber !== "all" && isFullVerbose(verboseInfo, fdNumber) && !BINARY_ENCODINGS.has(encoding) && isFdVerbose(fdNumber) && (stdioItems.some(({ type, value }) => type === "native" && PIPED_STDIO_VALUES.has(value)) || stdioItems.every(({ type }) => TRANSFORM_TYPES.has(type)));
var isFdVerbose = (fdNumber) => fdNumber === 1 || fdNumber === 2;
var PIPED_STDIO_VALUES = /* @__PURE__ */ new Set(["pipe", "overlapped"]);
var logLines = async (linesIterable, stream, fdNumber, verboseInfo) => {
  for await (const line of linesIterable) {
    if (!isPipingStream(stream)) {
      logLine(line, fdNumber, verboseInfo);
    }
  }
};
var logLinesSync = (linesArray, fdNumber, verboseInfo) => {
  for (const line of linesArray) {
    logLine(line, fdNumber, verboseInfo);
  }
};
var isPipingStream = (stream) => stream._readableState.pipes.some((pipe) => !isAllStream(pipe) || isPipingStream(pipe));
var logLine = (line, fdNumber, verboseInfo) => {
  const verboseMessage = serializeVerboseMessage(line);
  verboseLog({
    type: "output",
    verboseMessage,
    fdNumber,
    verboseInfo
  });
};

// node_modules/execa/lib/io/output-sync.js
var transformOutputSync = ({ fileDescriptors, syncResult, options, verboseInfo }) => {
  const output2 = syncResult.output ?? getSpawnFailureOutput(options);
  const outputFiles = /* @__PURE__ */ new Set();
  const errors = [];
  const transformedOutput = output2.map((result, fdNumber) => transformOutputResultSync({
    result,
    fileDescriptors,
    fdNumber,
    errors,
    outputFiles,
    verboseInfo
  }, options));
  return { output: transformedOutput, error: errors.find((error) => error !== void 0) };
};
var getSpawnFailureOutput = ({ stdio }) => stdio.map((stdioOption, fdNumber) => fdNumber !== 0 && stdioOption === "pipe" ? new Uint8Array() : null);
var transformOutputResultSync = ({ result, fileDescriptors, fdNumber, errors, outputFiles, verboseInfo }, { buffer, encoding, lines, stripFinalNewline: stripFinalNewline2, maxBuffer }) => {
  if (result === null) {
    return;
  }
  const truncatedResult = truncateMaxBufferSync(result, fdNumber, { maxBuffer, buffer });
  const uint8ArrayResult = bufferToUint8Array(truncatedResult);
  const { stdioItems, objectMode } = fileDescriptors[fdNumber];
  const { chunks, error: transformError } = runOutputGeneratorsSync(uint8ArrayResult.length === 0 ? [] : [uint8ArrayResult], stdioItems, encoding);
  const { serializedResult, finalResult } = serializeChunks({
    chunks,
    objectMode,
    encoding,
    lines,
    stripFinalNewline: stripFinalNewline2,
    fdNumber
  });
  const logError2 = logOutputSync({
    serializedResult,
    fdNumber,
    verboseInfo,
    encoding,
    stdioItems,
    objectMode
  });
  const error = transformError ?? logError2;
  errors.push(error);
  const returnedResult = buffer[fdNumber] ? finalResult : void 0;
  try {
    if (error === void 0) {
      writeToFiles(chunks, stdioItems, outputFiles);
    }
    return returnedResult;
  } catch (writeError) {
    errors.push(writeError);
    return returnedResult;
  }
};
var runOutputGeneratorsSync = (chunks, stdioItems, encoding) => {
  try {
    return { chunks: runGeneratorsSync(chunks, stdioItems, encoding, false), error: void 0 };
  } catch (error) {
    return { chunks: [], error };
  }
};
var serializeChunks = ({ chunks, objectMode, encoding, lines, stripFinalNewline: stripFinalNewline2, fdNumber }) => {
  if (objectMode) {
    return { serializedResult: chunks, finalResult: chunks };
  }
  if (encoding === "buffer") {
    const serializedResult2 = joinToUint8Array(chunks);
    return { serializedResult: serializedResult2, finalResult: serializedResult2 };
  }
  const serializedResult = joinToString(chunks, encoding);
  const finalResult = lines[fdNumber] ? splitLinesSync(serializedResult, !stripFinalNewline2[fdNumber], objectMode) : serializedResult;
  return { serializedResult, finalResult };
};
var logOutputSync = ({ serializedResult, fdNumber, verboseInfo, encoding, stdioItems, objectMode }) => {
  if (!shouldLogOutput({
    stdioItems,
    encoding,
    verboseInfo,
    fdNumber
  })) {
    return;
  }
  const linesArray = splitLinesSync(serializedResult, false, objectMode);
  try {
    logLinesSync(linesArray, fdNumber, verboseInfo);
  } catch (error) {
    return error;
  }
};
var writeToFiles = (chunks, stdioItems, outputFiles) => {
  const fileItems = stdioItems.filter(({ type }) => FILE_TYPES.has(type));
  if (fileItems.length === 0) {
    return;
  }
  const contents = joinToUint8Array(chunks);
  const writtenPaths = /* @__PURE__ */ new Set();
  for (const stdioItem of fileItems) {
    const { type, append } = stdioItem;
    const path33 = type === "fileNumber" ? stdioItem.path : getFileTarget(stdioItem);
    if (writtenPaths.has(path33)) {
      continue;
    }
    writtenPaths.add(path33);
    if (append || outputFiles.has(path33)) {
      appendFileSync(path33, contents);
    } else {
      writeFileSync3(path33, contents);
    }
    outputFiles.add(path33);
  }
};

// node_modules/execa/lib/resolve/exit-async.js
import { once as once4 } from "node:events";
var waitForExit = async (subprocess, context) => {
  const [exitCode, signal] = await waitForExitOrError(subprocess);
  context.isForcefullyTerminated ??= false;
  return [exitCode, signal];
};
var waitForExitOrError = async (subprocess) => {
  const [spawnPayload, exitPayload] = await Promise.allSettled([
    once4(subprocess, "spawn"),
    once4(subprocess, "exit")
  ]);
  if (spawnPayload.status === "rejected") {
    return [];
  }
  return exitPayload.status === "rejected" ? waitForSubprocessExit(subprocess) : exitPayload.value;
};
var waitForSubprocessExit = async (subprocess) => {
  try {
    return await once4(subprocess, "exit");
  } catch {
    return waitForSubprocessExit(subprocess);
  }
};
var waitForSuccessfulExit = async (exitPromise) => {
  const [exitCode, signal] = await exitPromise;
  if (!isSubprocessErrorExit(exitCode, signal) && isFailedExit(exitCode, signal)) {
    throw new DiscardedError();
  }
  return [exitCode, signal];
};
var isSubprocessErrorExit = (exitCode, signal) => exitCode === void 0 && signal === void 0;
var isFailedExit = (exitCode, signal) => exitCode !== 0 || signal !== null;

// node_modules/execa/lib/resolve/exit-sync.js
var getExitResultSync = ({ error, status: exitCode, signal, output: output2 }, { maxBuffer, buffer }) => {
  const initialError = getResultError(error, exitCode, signal);
  const isTimedOut = initialError?.code === "ETIMEDOUT";
  const { resultError, isMaxBuffer } = isTimedOut ? { resultError: initialError, isMaxBuffer: false } : handleMaxBufferSync({
    resultError: initialError,
    output: output2,
    maxBuffer,
    buffer
  });
  return {
    resultError,
    exitCode,
    signal,
    timedOut: isTimedOut,
    isMaxBuffer
  };
};
var getResultError = (error, exitCode, signal) => {
  if (error !== void 0) {
    return error;
  }
  return isFailedExit(exitCode, signal) ? new DiscardedError() : void 0;
};

// node_modules/execa/lib/methods/main-sync.js
var execaCoreSync = (rawFile, rawArguments, rawOptions) => {
  const { file, commandArguments, command, escapedCommand, startTime, verboseInfo, options, fileDescriptors } = handleSyncArguments(rawFile, rawArguments, rawOptions);
  const result = spawnSubprocessSync({
    file,
    commandArguments,
    options,
    command,
    escapedCommand,
    verboseInfo,
    fileDescriptors,
    startTime
  });
  return handleResult(result, verboseInfo, options);
};
var handleSyncArguments = (rawFile, rawArguments, rawOptions) => {
  const { command, escapedCommand, startTime, verboseInfo } = handleCommand(rawFile, rawArguments, rawOptions);
  const syncOptions = normalizeSyncOptions(rawOptions);
  const { file, commandArguments, options } = normalizeOptions(rawFile, rawArguments, syncOptions);
  validateSyncOptions(options);
  const fileDescriptors = handleStdioSync(options, verboseInfo);
  return {
    file,
    commandArguments,
    command,
    escapedCommand,
    startTime,
    verboseInfo,
    options,
    fileDescriptors
  };
};
var normalizeSyncOptions = (options) => options.node && !options.ipc ? { ...options, ipc: false } : options;
var validateSyncOptions = ({ ipc, ipcInput, detached, cancelSignal, killDescendants }) => {
  if (ipcInput !== void 0) {
    throwInvalidSyncOption("ipcInput");
  }
  if (ipc) {
    throwInvalidSyncOption("ipc: true");
  }
  if (detached) {
    throwInvalidSyncOption("detached: true");
  }
  if (killDescendants) {
    throwInvalidSyncOption("killDescendants: true");
  }
  if (cancelSignal) {
    throwInvalidSyncOption("cancelSignal");
  }
};
var throwInvalidSyncOption = (value) => {
  throw new TypeError(`The "${value}" option cannot be used with synchronous methods.`);
};
var spawnSubprocessSync = ({ file, commandArguments, options, command, escapedCommand, verboseInfo, fileDescriptors, startTime }) => {
  const syncResult = runSubprocessSync({
    file,
    commandArguments,
    options,
    command,
    escapedCommand,
    fileDescriptors,
    startTime
  });
  if (syncResult.failed) {
    return syncResult;
  }
  const { resultError, exitCode, signal, timedOut, isMaxBuffer } = getExitResultSync(syncResult, options);
  const { output: output2, error = resultError } = transformOutputSync({
    fileDescriptors,
    syncResult,
    options,
    verboseInfo
  });
  const stdio = output2.map((stdioOutput, fdNumber) => stripNewline(stdioOutput, options, fdNumber));
  const allFds = getAllSyncFds(output2);
  const all = stripNewline(getAllSync(output2, allFds, options), options, "all", allFds);
  return getSyncResult({
    error,
    exitCode,
    signal,
    timedOut,
    isMaxBuffer,
    stdio,
    all,
    options,
    command,
    escapedCommand,
    startTime
  });
};
var runSubprocessSync = ({ file, commandArguments, options, command, escapedCommand, fileDescriptors, startTime }) => {
  try {
    addInputOptionsSync(fileDescriptors, options);
    const normalizedOptions = normalizeSpawnSyncOptions(options);
    return { __proto__: null, ...spawnSync(...concatenateShell(file, commandArguments, normalizedOptions)) };
  } catch (error) {
    return makeEarlyError({
      error,
      command,
      escapedCommand,
      fileDescriptors,
      options,
      startTime,
      isSync: true,
      ...getEarlyErrorOutput(fileDescriptors, options)
    });
  }
};
var normalizeSpawnSyncOptions = ({ encoding, maxBuffer, ...options }) => ({ ...options, encoding: "buffer", maxBuffer: getMaxBufferSync(maxBuffer) });
var getSyncResult = ({ error, exitCode, signal, timedOut, isMaxBuffer, stdio, all, options, command, escapedCommand, startTime }) => error === void 0 ? makeSuccessResult({
  command,
  escapedCommand,
  stdio,
  all,
  ipcOutput: [],
  options,
  startTime
}) : makeError({
  error,
  command,
  escapedCommand,
  timedOut,
  isCanceled: false,
  isGracefullyCanceled: false,
  isMaxBuffer,
  isForcefullyTerminated: false,
  exitCode,
  signal,
  stdio,
  all,
  ipcOutput: [],
  options,
  startTime,
  isSync: true
});

// node_modules/execa/lib/methods/main-async.js
import { setMaxListeners, once as once9 } from "node:events";
import { spawn } from "node:child_process";

// node_modules/execa/lib/ipc/methods.js
import process12 from "node:process";

// node_modules/execa/lib/ipc/get-one.js
import { once as once5, on as on2 } from "node:events";
var internalGetOneMessageOptions = /* @__PURE__ */ Symbol("internalGetOneMessageOptions");
var getOneMessage = ({ anyProcess, channel, isSubprocess, ipc }, rawOptions) => {
  const options = copyOptions(rawOptions);
  const { reference = true, filter } = options;
  const { signal } = options[internalGetOneMessageOptions] ?? {};
  validateIpcMethod({
    methodName: "getOneMessage",
    isSubprocess,
    ipc,
    isConnected: isConnected(anyProcess)
  });
  return getOneMessageAsync({
    anyProcess,
    channel,
    isSubprocess,
    filter,
    reference,
    signal
  });
};
var getOneMessageAsync = async ({ anyProcess, channel, isSubprocess, filter, reference, signal }) => {
  addReference(channel, reference);
  const ipcEmitter = getIpcEmitter(anyProcess, channel, isSubprocess);
  const controller = new AbortController();
  stopOnAbort(signal, controller);
  try {
    return await Promise.race([
      getMessage(ipcEmitter, filter, controller),
      throwOnDisconnect2(ipcEmitter, isSubprocess, controller),
      throwOnStrictError(ipcEmitter, isSubprocess, controller)
    ]);
  } catch (error) {
    if (!signal?.aborted) {
      disconnect(anyProcess);
    }
    throw error;
  } finally {
    controller.abort();
    removeReference(channel, reference);
  }
};
var stopOnAbort = (signal, controller) => {
  if (signal === void 0) {
    return;
  }
  if (signal.aborted) {
    controller.abort();
    return;
  }
  signal.addEventListener("abort", () => {
    controller.abort();
  }, { once: true, signal: controller.signal });
};
var getMessage = async (ipcEmitter, filter, { signal }) => {
  if (filter === void 0) {
    const [message] = await once5(ipcEmitter, "message", { signal });
    return message;
  }
  for await (const [message] of on2(ipcEmitter, "message", { signal })) {
    if (filter(message)) {
      return message;
    }
  }
};
var throwOnDisconnect2 = async (ipcEmitter, isSubprocess, { signal }) => {
  await once5(ipcEmitter, "disconnect", { signal });
  throwOnEarlyDisconnect(isSubprocess);
};
var throwOnStrictError = async (ipcEmitter, isSubprocess, { signal }) => {
  const [error] = await once5(ipcEmitter, "strict:error", { signal });
  throw getStrictResponseError(error, isSubprocess);
};

// node_modules/execa/lib/ipc/get-each.js
import { once as once6, on as on3 } from "node:events";
var internalGetEachMessageOptions = /* @__PURE__ */ Symbol("internalGetEachMessageOptions");
var getEachMessage = (subprocessInfo, rawOptions) => {
  const options = copyOptions(rawOptions);
  const { reference = true } = options;
  const { signal, shouldAwait = !subprocessInfo.isSubprocess } = options[internalGetEachMessageOptions] ?? {};
  return loopOnMessages({
    ...subprocessInfo,
    shouldAwait,
    reference,
    signal
  });
};
var loopOnMessages = ({ anyProcess, waitProcess = anyProcess, channel, isSubprocess, ipc, shouldAwait, reference, signal }) => {
  validateIpcMethod({
    methodName: "getEachMessage",
    isSubprocess,
    ipc,
    isConnected: isConnected(anyProcess)
  });
  addReference(channel, reference);
  const ipcEmitter = getIpcEmitter(anyProcess, channel, isSubprocess);
  const controller = new AbortController();
  const state = {};
  stopOnAbort2(signal, controller);
  stopOnDisconnect(anyProcess, ipcEmitter, controller);
  abortOnStrictError({
    ipcEmitter,
    isSubprocess,
    controller,
    state
  });
  return iterateOnMessages({
    anyProcess,
    waitProcess,
    channel,
    ipcEmitter,
    isSubprocess,
    shouldAwait,
    controller,
    state,
    reference,
    signal
  });
};
var stopOnAbort2 = (signal, controller) => {
  if (signal === void 0) {
    return;
  }
  if (signal.aborted) {
    controller.abort();
    return;
  }
  signal.addEventListener("abort", () => {
    controller.abort();
  }, { once: true, signal: controller.signal });
};
var stopOnDisconnect = async (anyProcess, ipcEmitter, controller) => {
  try {
    await once6(ipcEmitter, "disconnect", { signal: controller.signal });
    controller.abort();
  } catch {
  }
};
var abortOnStrictError = async ({ ipcEmitter, isSubprocess, controller, state }) => {
  try {
    const [error] = await once6(ipcEmitter, "strict:error", { signal: controller.signal });
    state.error = getStrictResponseError(error, isSubprocess);
    controller.abort();
  } catch {
  }
};
var iterateOnMessages = async function* ({ anyProcess, waitProcess, channel, ipcEmitter, isSubprocess, shouldAwait, controller, state, reference, signal }) {
  try {
    for await (const [message] of on3(ipcEmitter, "message", { signal: controller.signal })) {
      throwIfStrictError(state);
      yield message;
    }
  } catch {
    throwIfStrictError(state);
  } finally {
    controller.abort();
    removeReference(channel, reference);
    if (!isSubprocess && !signal?.aborted) {
      disconnect(anyProcess);
    }
    if (shouldAwait) {
      await waitProcess;
    }
  }
};
var throwIfStrictError = ({ error }) => {
  if (error) {
    throw error;
  }
};

// node_modules/execa/lib/ipc/methods.js
var addIpcMethods = (target, subprocess, { ipc }) => {
  Object.assign(target, getIpcMethods(subprocess, false, ipc, target));
};
var getIpcExport = () => {
  const anyProcess = process12;
  const isSubprocess = true;
  const isIpc = process12.channel !== void 0;
  return {
    ...getIpcMethods(anyProcess, isSubprocess, isIpc),
    getCancelSignal: getCancelSignal.bind(void 0, {
      anyProcess,
      channel: anyProcess.channel,
      isSubprocess,
      ipc: isIpc
    })
  };
};
var getIpcMethods = (anyProcess, isSubprocess, ipc, waitProcess = anyProcess) => ({
  sendMessage: sendMessage.bind(void 0, {
    anyProcess,
    channel: anyProcess.channel,
    isSubprocess,
    ipc
  }),
  getOneMessage: getOneMessage.bind(void 0, {
    anyProcess,
    channel: anyProcess.channel,
    isSubprocess,
    ipc
  }),
  getEachMessage: getEachMessage.bind(void 0, {
    anyProcess,
    channel: anyProcess.channel,
    isSubprocess,
    ipc,
    waitProcess
  })
});

// node_modules/execa/lib/return/early-error.js
import { ChildProcess as ChildProcess2 } from "node:child_process";
import { callbackify as callbackify2 } from "node:util";
import {
  PassThrough,
  Readable,
  Writable,
  Duplex
} from "node:stream";
var handleEarlyError = ({ error, command, escapedCommand, fileDescriptors, options, startTime, verboseInfo }) => {
  cleanupCustomStreams(fileDescriptors);
  const subprocess = new ChildProcess2();
  subprocess.kill = () => false;
  const all = createDummyStreams(subprocess, fileDescriptors);
  const promise = handleDummyPromise({
    error,
    command,
    escapedCommand,
    fileDescriptors,
    options,
    startTime,
    verboseInfo
  });
  return {
    subprocess,
    promise,
    all: options.all ? all : void 0,
    convertedStreams: getConvertedStreams(promise)
  };
};
var createDummyStreams = (subprocess, fileDescriptors) => {
  const stdin = createDummyStream();
  const stdout = createDummyStream();
  const stderr = createDummyStream();
  const extraStdio = Array.from({ length: fileDescriptors.length - 3 }, createDummyStream);
  const all = createDummyStream();
  const stdio = [stdin, stdout, stderr, ...extraStdio];
  Object.assign(subprocess, {
    stdin,
    stdout,
    stderr,
    stdio
  });
  return all;
};
var createDummyStream = () => {
  const stream = new PassThrough();
  stream.on("error", () => {
  });
  stream.end();
  return stream;
};
var getConvertedStreams = (promise) => {
  const waitForPromise = async () => {
    await promise;
  };
  const endReadable = function() {
    callbackify2(waitForPromise)((error) => {
      if (error) {
        this.destroy(error);
      } else {
        this.push(null);
      }
    });
  };
  const endWritable = callbackify2(waitForPromise);
  const writeWritable = (chunk, encoding, done) => {
    endWritable(done);
  };
  const readable = () => new Readable({ read: endReadable });
  const writable = () => new Writable({ write: writeWritable, final: endWritable });
  const duplex = () => new Duplex({ read: endReadable, write: writeWritable, final: endWritable });
  const iterable = () => readable()[Symbol.asyncIterator]();
  return {
    readable,
    writable,
    duplex,
    readableStream: () => Readable.toWeb(readable()),
    writableStream: () => Writable.toWeb(writable()),
    transformStream: () => Duplex.toWeb(duplex()),
    iterable,
    [Symbol.asyncIterator]: iterable
  };
};
var handleDummyPromise = async ({ error, command, escapedCommand, fileDescriptors, options, startTime, verboseInfo }) => {
  const earlyError = makeEarlyError({
    error: await error,
    command,
    escapedCommand,
    fileDescriptors,
    options,
    startTime,
    isSync: false,
    ...getEarlyErrorOutput(fileDescriptors, options)
  });
  return handleResult(earlyError, verboseInfo, options);
};

// node_modules/execa/lib/stdio/handle-async.js
import { createReadStream, createWriteStream } from "node:fs";
import { Buffer as Buffer7 } from "node:buffer";
import { Readable as Readable2, Writable as Writable2, Duplex as Duplex2 } from "node:stream";
var handleStdioAsync = (options, verboseInfo) => handleStdio(addPropertiesAsync, options, verboseInfo, false);
var forbiddenIfAsync = ({ type, optionName }) => {
  throw new TypeError(`The \`${optionName}\` option cannot be ${TYPE_TO_MESSAGE[type]}.`);
};
var addProperties2 = {
  fileNumber: forbiddenIfAsync,
  generator: generatorToStream,
  asyncGenerator: generatorToStream,
  nodeStream: ({ value }) => ({ stream: value }),
  // `Duplex.fromWeb()` uses the same `objectMode` for both sides
  webTransform: ({ value: { transform, writableObjectMode, readableObjectMode } }) => ({
    stream: Duplex2.from({
      writable: Writable2.fromWeb(transform.writable, { objectMode: writableObjectMode }),
      readable: Readable2.fromWeb(transform.readable, { objectMode: readableObjectMode })
    })
  }),
  duplex: ({ value: { transform } }) => ({ stream: transform }),
  native() {
  }
};
var validateIterable = function* (iterable, optionName) {
  for (const value of iterable) {
    validateIterableValue(value, optionName);
    yield value;
  }
};
var validateAsyncIterable = async function* (iterable, optionName) {
  for await (const value of iterable) {
    validateIterableValue(value, optionName);
    yield value;
  }
};
var validateIterableValue = (value, optionName) => {
  if (!isSerializableInput(value)) {
    throwOnSerializableInput(optionName, value);
  }
};
var readableFromChunk = (chunk) => Readable2.from(chunk.length === 0 ? [] : [chunk]);
var generatorToInputStream = (stdioItem, { encoding }) => generatorToStream(stdioItem, { encoding: getInputEncoding(encoding) });
var addPropertiesAsync = {
  input: {
    ...addProperties2,
    generator: generatorToInputStream,
    asyncGenerator: generatorToInputStream,
    fileUrl: ({ value }) => ({ stream: createReadStream(value) }),
    filePath: ({ value: { file } }) => ({ stream: createReadStream(file) }),
    webStream: ({ value }, options, objectMode) => ({ stream: Readable2.fromWeb(value, { objectMode }) }),
    iterable: ({ value, optionName }, options, objectMode) => ({ stream: Readable2.from(objectMode ? value : validateIterable(value, optionName)) }),
    asyncIterable: ({ value, optionName }, options, objectMode) => ({ stream: Readable2.from(objectMode ? value : validateAsyncIterable(value, optionName)) }),
    string: ({ value }) => ({ stream: readableFromChunk(value) }),
    uint8Array: ({ value }) => ({ stream: readableFromChunk(Buffer7.from(value)) })
  },
  output: {
    ...addProperties2,
    fileUrl: ({ value }) => ({ stream: createWriteStream(value) }),
    filePath: ({ value: { file, append } }) => ({ stream: createWriteStream(file, append ? { flags: "a" } : {}) }),
    // Web writers accept arbitrary chunks, including when a shared writer receives both bytes and objects.
    webStream: ({ value }) => ({ stream: Writable2.fromWeb(value, { objectMode: true }) }),
    iterable: forbiddenIfAsync,
    asyncIterable: forbiddenIfAsync,
    string: forbiddenIfAsync,
    uint8Array: forbiddenIfAsync
  }
};

// node_modules/@sindresorhus/merge-streams/index.js
import { on as on4, once as once7 } from "node:events";
import { PassThrough as PassThroughStream, getDefaultHighWaterMark as getDefaultHighWaterMark2 } from "node:stream";
import { finished as finished2 } from "node:stream/promises";
function mergeStreams(streams) {
  if (!Array.isArray(streams)) {
    throw new TypeError(`Expected an array, got \`${typeof streams}\`.`);
  }
  for (const stream of streams) {
    validateStream(stream);
  }
  const objectMode = streams.some(({ readableObjectMode }) => readableObjectMode);
  const highWaterMark = getHighWaterMark(streams, objectMode);
  const passThroughStream = new MergedStream({
    objectMode,
    writableHighWaterMark: highWaterMark,
    readableHighWaterMark: highWaterMark
  });
  for (const stream of streams) {
    passThroughStream.add(stream);
  }
  return passThroughStream;
}
var getHighWaterMark = (streams, objectMode) => {
  if (streams.length === 0) {
    return getDefaultHighWaterMark2(objectMode);
  }
  const highWaterMarks = streams.filter(({ readableObjectMode }) => readableObjectMode === objectMode).map(({ readableHighWaterMark }) => readableHighWaterMark);
  return Math.max(...highWaterMarks);
};
var MergedStream = class extends PassThroughStream {
  #streams = /* @__PURE__ */ new Set([]);
  #ended = /* @__PURE__ */ new Set([]);
  #aborted = /* @__PURE__ */ new Set([]);
  #onFinished;
  #unpipeEvent = /* @__PURE__ */ Symbol("unpipe");
  #streamPromises = /* @__PURE__ */ new WeakMap();
  add(stream) {
    validateStream(stream);
    if (this.#streams.has(stream)) {
      return;
    }
    this.#streams.add(stream);
    this.#onFinished ??= onMergedStreamFinished(this, this.#streams, this.#unpipeEvent);
    const streamPromise = endWhenStreamsDone({
      passThroughStream: this,
      stream,
      streams: this.#streams,
      ended: this.#ended,
      aborted: this.#aborted,
      onFinished: this.#onFinished,
      unpipeEvent: this.#unpipeEvent
    });
    this.#streamPromises.set(stream, streamPromise);
    stream.pipe(this, { end: false });
  }
  async remove(stream) {
    validateStream(stream);
    if (!this.#streams.has(stream)) {
      return false;
    }
    const streamPromise = this.#streamPromises.get(stream);
    if (streamPromise === void 0) {
      return false;
    }
    this.#streamPromises.delete(stream);
    stream.unpipe(this);
    await streamPromise;
    return true;
  }
};
var onMergedStreamFinished = async (passThroughStream, streams, unpipeEvent) => {
  updateMaxListeners(passThroughStream, PASSTHROUGH_LISTENERS_COUNT);
  const controller = new AbortController();
  try {
    await Promise.race([
      onMergedStreamEnd(passThroughStream, controller),
      onInputStreamsUnpipe(passThroughStream, streams, unpipeEvent, controller)
    ]);
  } finally {
    controller.abort();
    updateMaxListeners(passThroughStream, -PASSTHROUGH_LISTENERS_COUNT);
  }
};
var onMergedStreamEnd = async (passThroughStream, { signal }) => {
  try {
    await finished2(passThroughStream, { signal, cleanup: true });
  } catch (error) {
    errorOrAbortStream(passThroughStream, error);
    throw error;
  }
};
var onInputStreamsUnpipe = async (passThroughStream, streams, unpipeEvent, { signal }) => {
  for await (const [unpipedStream] of on4(passThroughStream, "unpipe", { signal })) {
    if (streams.has(unpipedStream)) {
      unpipedStream.emit(unpipeEvent);
    }
  }
};
var validateStream = (stream) => {
  if (typeof stream?.pipe !== "function") {
    throw new TypeError(`Expected a readable stream, got: \`${typeof stream}\`.`);
  }
};
var endWhenStreamsDone = async ({ passThroughStream, stream, streams, ended, aborted: aborted2, onFinished, unpipeEvent }) => {
  updateMaxListeners(passThroughStream, PASSTHROUGH_LISTENERS_PER_STREAM);
  const controller = new AbortController();
  try {
    await Promise.race([
      afterMergedStreamFinished(onFinished, stream, controller),
      onInputStreamEnd({
        passThroughStream,
        stream,
        streams,
        ended,
        aborted: aborted2,
        controller
      }),
      onInputStreamUnpipe({
        stream,
        streams,
        ended,
        aborted: aborted2,
        unpipeEvent,
        controller
      })
    ]);
  } finally {
    controller.abort();
    updateMaxListeners(passThroughStream, -PASSTHROUGH_LISTENERS_PER_STREAM);
  }
  if (streams.size > 0 && streams.size === ended.size + aborted2.size) {
    if (ended.size === 0 && aborted2.size > 0) {
      abortStream(passThroughStream);
    } else {
      endStream(passThroughStream);
    }
  }
};
var afterMergedStreamFinished = async (onFinished, stream, { signal }) => {
  try {
    await onFinished;
    if (!signal.aborted) {
      abortStream(stream);
    }
  } catch (error) {
    if (!signal.aborted) {
      errorOrAbortStream(stream, error);
    }
  }
};
var onInputStreamEnd = async ({ passThroughStream, stream, streams, ended, aborted: aborted2, controller: { signal } }) => {
  try {
    await finished2(stream, {
      signal,
      cleanup: true,
      readable: true,
      writable: false
    });
    if (streams.has(stream)) {
      ended.add(stream);
    }
  } catch (error) {
    if (signal.aborted || !streams.has(stream)) {
      return;
    }
    if (isAbortError(error)) {
      aborted2.add(stream);
    } else {
      errorStream(passThroughStream, error);
    }
  }
};
var onInputStreamUnpipe = async ({ stream, streams, ended, aborted: aborted2, unpipeEvent, controller: { signal } }) => {
  await once7(stream, unpipeEvent, { signal });
  if (!stream.readable) {
    return once7(signal, "abort", { signal });
  }
  streams.delete(stream);
  ended.delete(stream);
  aborted2.delete(stream);
};
var endStream = (stream) => {
  if (stream.writable) {
    stream.end();
  }
};
var errorOrAbortStream = (stream, error) => {
  if (isAbortError(error)) {
    abortStream(stream);
  } else {
    errorStream(stream, error);
  }
};
var isAbortError = (error) => error?.code === "ERR_STREAM_PREMATURE_CLOSE";
var abortStream = (stream) => {
  if (stream.readable || stream.writable) {
    stream.destroy();
  }
};
var errorStream = (stream, error) => {
  if (!stream.destroyed) {
    stream.once("error", noop2);
    stream.destroy(error);
  }
};
var noop2 = () => {
};
var updateMaxListeners = (passThroughStream, increment2) => {
  const maxListeners = passThroughStream.getMaxListeners();
  if (maxListeners !== 0 && maxListeners !== Number.POSITIVE_INFINITY) {
    passThroughStream.setMaxListeners(maxListeners + increment2);
  }
};
var PASSTHROUGH_LISTENERS_COUNT = 2;
var PASSTHROUGH_LISTENERS_PER_STREAM = 1;

// node_modules/execa/lib/io/pipeline.js
import { finished as finished3 } from "node:stream/promises";
var pipeStreams = (source2, destination, onDestinationEnd) => {
  source2.pipe(destination);
  onSourceFinish(source2, destination);
  onDestinationFinish(source2, destination, onDestinationEnd);
};
var onSourceFinish = async (source2, destination) => {
  if (isStandardStream(source2) || isStandardStream(destination)) {
    return;
  }
  try {
    await finished3(source2, { cleanup: true, readable: true, writable: false });
  } catch {
  }
  endDestinationStream(destination);
};
var endDestinationStream = (destination) => {
  if (destination.writable) {
    destination.end();
  }
};
var onDestinationFinish = async (source2, destination, onDestinationEnd) => {
  if (isStandardStream(source2) || isStandardStream(destination)) {
    return;
  }
  try {
    await finished3(destination, { cleanup: true, readable: false, writable: true });
  } catch {
  }
  if (onDestinationEnd !== void 0) {
    await onDestinationEnd();
  }
  abortSourceStream(source2);
};
var abortSourceStream = (source2) => {
  if (source2.readable) {
    source2.destroy();
  }
};

// node_modules/execa/lib/io/output-async.js
var pipeOutputAsync = (subprocess, fileDescriptors, controller) => {
  const pipeGroups = /* @__PURE__ */ new Map();
  for (const [fdNumber, { stdioItems, direction }] of Object.entries(fileDescriptors)) {
    const transformItems = stdioItems.filter(({ type }) => TRANSFORM_TYPES.has(type));
    for (const { stream } of transformItems) {
      pipeTransform(subprocess, stream, direction, fdNumber);
    }
    const nonTransformItems = stdioItems.filter(({ type }) => !TRANSFORM_TYPES.has(type));
    for (const { stream } of nonTransformItems) {
      pipeStdioItem({
        subprocess,
        stream,
        direction,
        fdNumber,
        pipeGroups,
        controller
      });
    }
  }
  for (const [outputStream, inputStreams] of pipeGroups) {
    const inputStream = inputStreams.length === 1 ? inputStreams[0] : mergeStreams(inputStreams);
    pipeStreams(inputStream, outputStream);
  }
};
var pipeTransform = (subprocess, stream, direction, fdNumber) => {
  if (direction === "output") {
    pipeStreams(subprocess.stdio[fdNumber], stream);
  } else {
    pipeStreams(stream, subprocess.stdio[fdNumber]);
  }
  const streamProperty = SUBPROCESS_STREAM_PROPERTIES[fdNumber];
  if (streamProperty !== void 0) {
    subprocess[streamProperty] = stream;
  }
  subprocess.stdio[fdNumber] = stream;
};
var SUBPROCESS_STREAM_PROPERTIES = ["stdin", "stdout", "stderr"];
var pipeStdioItem = ({ subprocess, stream, direction, fdNumber, pipeGroups, controller }) => {
  if (stream === void 0) {
    return;
  }
  setStandardStreamMaxListeners(stream, controller);
  const [inputStream, outputStream] = direction === "output" ? [stream, subprocess.stdio[fdNumber]] : [subprocess.stdio[fdNumber], stream];
  const outputStreams = pipeGroups.get(inputStream) ?? [];
  pipeGroups.set(inputStream, [...outputStreams, outputStream]);
};
var setStandardStreamMaxListeners = (stream, { signal }) => {
  if (isStandardStream(stream)) {
    incrementMaxListeners(stream, MAX_LISTENERS_INCREMENT, signal);
  }
};
var MAX_LISTENERS_INCREMENT = 2;

// node_modules/execa/lib/terminate/kill-descendants.js
import process13 from "node:process";
import { execFile } from "node:child_process";
import path12 from "node:path/win32";
var isWindows2 = process13.platform === "win32";
var getSpawnOptions = (options) => !isWindows2 && options.killDescendants ? { ...options, detached: true } : options;
var getKillFunction = (subprocess, { killDescendants }) => {
  if (!killDescendants) {
    const killSubprocess = subprocess.kill.bind(subprocess);
    return (...arguments_) => subprocess.pid === void 0 ? false : killSubprocess(...arguments_);
  }
  const killDescendantsFunction = isWindows2 ? killDescendantsWindows : killDescendantsUnix;
  return killDescendantsFunction.bind(void 0, subprocess);
};
var isAbandoned = (subprocess) => subprocess.pid === void 0 || isWindows2 && hasExited(subprocess);
var hasExited = ({ exitCode, signalCode }) => exitCode !== null || signalCode !== null;
var killDescendantsUnix = (subprocess, signal) => {
  if (isAbandoned(subprocess)) {
    return false;
  }
  try {
    return process13.kill(-subprocess.pid, signal);
  } catch {
    return subprocess.kill(signal);
  }
};
var killDescendantsWindows = (subprocess, signal) => {
  if (isAbandoned(subprocess)) {
    return false;
  }
  const taskkillFile = getTaskkillFile();
  if (taskkillFile === void 0) {
    return subprocess.kill(signal);
  }
  execFile(taskkillFile, ["/pid", `${subprocess.pid}`, "/T", "/F"], (error) => {
    if (error) {
      subprocess.kill(signal);
    }
  });
  return true;
};
var getTaskkillFile = () => {
  const windowsDirectory = [process13.env.SystemRoot, process13.env.windir].find((directory) => directory && isWindowsDriveAbsolutePath(directory));
  return windowsDirectory === void 0 ? void 0 : path12.join(windowsDirectory, "System32", "taskkill.exe");
};
var isWindowsDriveAbsolutePath = (directory) => {
  const { root } = path12.parse(directory);
  return /^[a-z]:[/\\]/i.test(root);
};

// node_modules/execa/lib/terminate/cleanup.js
import { addAbortListener as addAbortListener2 } from "node:events";

// node_modules/signal-exit/dist/mjs/signals.js
var signals = [];
signals.push("SIGHUP", "SIGINT", "SIGTERM");
if (process.platform !== "win32") {
  signals.push(
    "SIGALRM",
    "SIGABRT",
    "SIGVTALRM",
    "SIGXCPU",
    "SIGXFSZ",
    "SIGUSR2",
    "SIGTRAP",
    "SIGSYS",
    "SIGQUIT",
    "SIGIOT"
    // should detect profiler and enable/disable accordingly.
    // see #21
    // 'SIGPROF'
  );
}
if (process.platform === "linux") {
  signals.push("SIGIO", "SIGPOLL", "SIGPWR", "SIGSTKFLT");
}

// node_modules/signal-exit/dist/mjs/index.js
var processOk = (process15) => !!process15 && typeof process15 === "object" && typeof process15.removeListener === "function" && typeof process15.emit === "function" && typeof process15.reallyExit === "function" && typeof process15.listeners === "function" && typeof process15.kill === "function" && typeof process15.pid === "number" && typeof process15.on === "function";
var kExitEmitter = /* @__PURE__ */ Symbol.for("signal-exit emitter");
var global = globalThis;
var ObjectDefineProperty = Object.defineProperty.bind(Object);
var Emitter = class {
  emitted = {
    afterExit: false,
    exit: false
  };
  listeners = {
    afterExit: [],
    exit: []
  };
  count = 0;
  id = Math.random();
  constructor() {
    if (global[kExitEmitter]) {
      return global[kExitEmitter];
    }
    ObjectDefineProperty(global, kExitEmitter, {
      value: this,
      writable: false,
      enumerable: false,
      configurable: false
    });
  }
  on(ev, fn) {
    this.listeners[ev].push(fn);
  }
  removeListener(ev, fn) {
    const list = this.listeners[ev];
    const i2 = list.indexOf(fn);
    if (i2 === -1) {
      return;
    }
    if (i2 === 0 && list.length === 1) {
      list.length = 0;
    } else {
      list.splice(i2, 1);
    }
  }
  emit(ev, code2, signal) {
    if (this.emitted[ev]) {
      return false;
    }
    this.emitted[ev] = true;
    let ret = false;
    for (const fn of this.listeners[ev]) {
      ret = fn(code2, signal) === true || ret;
    }
    if (ev === "exit") {
      ret = this.emit("afterExit", code2, signal) || ret;
    }
    return ret;
  }
};
var SignalExitBase = class {
};
var signalExitWrap = (handler) => {
  return {
    onExit(cb, opts) {
      return handler.onExit(cb, opts);
    },
    load() {
      return handler.load();
    },
    unload() {
      return handler.unload();
    }
  };
};
var SignalExitFallback = class extends SignalExitBase {
  onExit() {
    return () => {
    };
  }
  load() {
  }
  unload() {
  }
};
var SignalExit = class extends SignalExitBase {
  // "SIGHUP" throws an `ENOSYS` error on Windows,
  // so use a supported signal instead
  /* c8 ignore start */
  #hupSig = process14.platform === "win32" ? "SIGINT" : "SIGHUP";
  /* c8 ignore stop */
  #emitter = new Emitter();
  #process;
  #originalProcessEmit;
  #originalProcessReallyExit;
  #sigListeners = {};
  #loaded = false;
  constructor(process15) {
    super();
    this.#process = process15;
    this.#sigListeners = {};
    for (const sig of signals) {
      this.#sigListeners[sig] = () => {
        const listeners = this.#process.listeners(sig);
        let { count: count2 } = this.#emitter;
        const p = process15;
        if (typeof p.__signal_exit_emitter__ === "object" && typeof p.__signal_exit_emitter__.count === "number") {
          count2 += p.__signal_exit_emitter__.count;
        }
        if (listeners.length === count2) {
          this.unload();
          const ret = this.#emitter.emit("exit", null, sig);
          const s = sig === "SIGHUP" ? this.#hupSig : sig;
          if (!ret)
            process15.kill(process15.pid, s);
        }
      };
    }
    this.#originalProcessReallyExit = process15.reallyExit;
    this.#originalProcessEmit = process15.emit;
  }
  onExit(cb, opts) {
    if (!processOk(this.#process)) {
      return () => {
      };
    }
    if (this.#loaded === false) {
      this.load();
    }
    const ev = opts?.alwaysLast ? "afterExit" : "exit";
    this.#emitter.on(ev, cb);
    return () => {
      this.#emitter.removeListener(ev, cb);
      if (this.#emitter.listeners["exit"].length === 0 && this.#emitter.listeners["afterExit"].length === 0) {
        this.unload();
      }
    };
  }
  load() {
    if (this.#loaded) {
      return;
    }
    this.#loaded = true;
    this.#emitter.count += 1;
    for (const sig of signals) {
      try {
        const fn = this.#sigListeners[sig];
        if (fn)
          this.#process.on(sig, fn);
      } catch (_) {
      }
    }
    this.#process.emit = (ev, ...a2) => {
      return this.#processEmit(ev, ...a2);
    };
    this.#process.reallyExit = (code2) => {
      return this.#processReallyExit(code2);
    };
  }
  unload() {
    if (!this.#loaded) {
      return;
    }
    this.#loaded = false;
    signals.forEach((sig) => {
      const listener = this.#sigListeners[sig];
      if (!listener) {
        throw new Error("Listener not defined for signal: " + sig);
      }
      try {
        this.#process.removeListener(sig, listener);
      } catch (_) {
      }
    });
    this.#process.emit = this.#originalProcessEmit;
    this.#process.reallyExit = this.#originalProcessReallyExit;
    this.#emitter.count -= 1;
  }
  #processReallyExit(code2) {
    if (!processOk(this.#process)) {
      return 0;
    }
    this.#process.exitCode = code2 || 0;
    this.#emitter.emit("exit", this.#process.exitCode, null);
    return this.#originalProcessReallyExit.call(this.#process, this.#process.exitCode);
  }
  #processEmit(ev, ...args) {
    const og = this.#originalProcessEmit;
    if (ev === "exit" && processOk(this.#process)) {
      if (typeof args[0] === "number") {
        this.#process.exitCode = args[0];
      }
      const ret = og.call(this.#process, ev, ...args);
      this.#emitter.emit("exit", this.#process.exitCode, null);
      return ret;
    } else {
      return og.call(this.#process, ev, ...args);
    }
  }
};
var process14 = globalThis.process;
var {
  /**
   * Called when the process is exiting, whether via signal, explicit
   * exit, or running out of stuff to do.
   *
   * If the global process object is not suitable for instrumentation,
   * then this will be a no-op.
   *
   * Returns a function that may be used to unload signal-exit.
   */
  onExit,
  /**
   * Load the listeners.  Likely you never need to call this, unless
   * doing a rather deep integration with signal-exit functionality.
   * Mostly exposed for the benefit of testing.
   *
   * @internal
   */
  load,
  /**
   * Unload the listeners.  Likely you never need to call this, unless
   * doing a rather deep integration with signal-exit functionality.
   * Mostly exposed for the benefit of testing.
   *
   * @internal
   */
  unload
} = signalExitWrap(processOk(process14) ? new SignalExit(process14) : new SignalExitFallback());

// node_modules/execa/lib/terminate/cleanup.js
var cleanupOnExit = (kill, { cleanup, detached }, { signal }) => {
  if (!cleanup || detached) {
    return;
  }
  const removeExitHandler = onExit(() => {
    kill();
  });
  addAbortListener2(signal, () => {
    removeExitHandler();
  });
};

// node_modules/execa/lib/convert/concurrent.js
var initializeConcurrentStreams = () => ({
  readableDestroy: /* @__PURE__ */ new WeakMap(),
  writableFinal: /* @__PURE__ */ new WeakMap(),
  writableDestroy: /* @__PURE__ */ new WeakMap()
});
var addConcurrentStream = (concurrentStreams, stream, waitName) => {
  const weakMap = concurrentStreams[waitName];
  if (!weakMap.has(stream)) {
    weakMap.set(stream, []);
  }
  const promises = weakMap.get(stream);
  const promise = createDeferred();
  promises.push(promise);
  const resolve = promise.resolve.bind(promise);
  return { resolve, promises };
};
var waitForConcurrentStreams = async ({ resolve, promises }, subprocess) => {
  resolve();
  const [isSubprocessExit] = await Promise.race([
    Promise.allSettled([true, subprocess]),
    Promise.all([false, ...promises])
  ]);
  return !isSubprocessExit;
};

// node_modules/execa/lib/io/iterate.js
import { on as on5 } from "node:events";
import { getDefaultHighWaterMark as getDefaultHighWaterMark3 } from "node:stream";
var iterateOnSubprocessStream = ({ subprocessStdout, subprocess, binary, shouldEncode, encoding, preserveNewlines }) => {
  const controller = new AbortController();
  stopReadingOnExit(subprocess, controller);
  return iterateOnStream({
    stream: subprocessStdout,
    controller,
    binary,
    shouldEncode: !subprocessStdout.readableObjectMode && shouldEncode,
    encoding,
    shouldSplit: !subprocessStdout.readableObjectMode,
    preserveNewlines
  });
};
var stopReadingOnExit = async (subprocess, controller) => {
  try {
    await subprocess;
  } catch {
  } finally {
    controller.abort();
  }
};
var iterateForResult = ({ stream, onStreamEnd, lines, encoding, stripFinalNewline: stripFinalNewline2, allMixed }) => {
  const controller = new AbortController();
  stopReadingOnStreamEnd(onStreamEnd, controller, stream);
  const objectMode = stream.readableObjectMode && !allMixed;
  return iterateOnStream({
    stream,
    controller,
    binary: encoding === "buffer",
    shouldEncode: !objectMode,
    encoding,
    shouldSplit: !objectMode && lines,
    preserveNewlines: !stripFinalNewline2
  });
};
var stopReadingOnStreamEnd = async (onStreamEnd, controller, stream) => {
  try {
    await onStreamEnd;
  } catch {
    stream.destroy();
  } finally {
    controller.abort();
  }
};
var iterateOnStream = ({ stream, controller, binary, shouldEncode, encoding, shouldSplit, preserveNewlines }) => {
  const onStdoutChunk = on5(stream, "data", {
    signal: controller.signal,
    highWaterMark: HIGH_WATER_MARK,
    // Backward compatibility with older name for this option
    // See https://github.com/nodejs/node/pull/52080#discussion_r1525227861
    // @todo Remove after removing support for Node 21
    highWatermark: HIGH_WATER_MARK
  });
  return iterateOnData({
    onStdoutChunk,
    controller,
    binary,
    shouldEncode,
    encoding,
    shouldSplit,
    preserveNewlines
  });
};
var DEFAULT_OBJECT_HIGH_WATER_MARK = getDefaultHighWaterMark3(true);
var HIGH_WATER_MARK = DEFAULT_OBJECT_HIGH_WATER_MARK;
var iterateOnData = async function* ({ onStdoutChunk, controller, binary, shouldEncode, encoding, shouldSplit, preserveNewlines }) {
  const generators = getGenerators({
    binary,
    shouldEncode,
    encoding,
    shouldSplit,
    preserveNewlines
  });
  try {
    for await (const [chunk] of onStdoutChunk) {
      yield* transformChunkSync(chunk, generators, 0);
    }
  } catch (error) {
    if (!controller.signal.aborted) {
      throw error;
    }
  } finally {
    yield* finalChunksSync(generators);
  }
};
var getGenerators = ({ binary, shouldEncode, encoding, shouldSplit, preserveNewlines }) => [
  getEncodingTransformGenerator(binary, encoding, !shouldEncode),
  getSplitLinesGenerator(binary, preserveNewlines, !shouldSplit, {})
].filter(Boolean);

// node_modules/execa/lib/convert/iterable.js
var createIterable = (subprocess, encoding, options) => {
  const { from, binary: binaryOption = false, preserveNewlines = false } = copyOptions(options);
  checkBooleanOption(binaryOption, "binary");
  checkBooleanOption(preserveNewlines, "preserveNewlines");
  const binary = binaryOption || BINARY_ENCODINGS.has(encoding);
  const subprocessStdout = getFromStream(subprocess, from);
  const onStdoutData = iterateOnSubprocessStream({
    subprocessStdout,
    subprocess,
    binary,
    shouldEncode: true,
    encoding,
    preserveNewlines
  });
  return iterateOnStdoutData(onStdoutData, subprocessStdout, subprocess);
};
var iterateOnStdoutData = async function* (onStdoutData, subprocessStdout, subprocess) {
  try {
    yield* onStdoutData;
  } finally {
    if (subprocessStdout.readable) {
      subprocessStdout.destroy();
    }
    await subprocess;
  }
};

// node_modules/execa/lib/convert/readable.js
import { Readable as Readable3 } from "node:stream";
import { callbackify as callbackify3 } from "node:util";

// node_modules/execa/lib/convert/shared.js
import { finished as finished5 } from "node:stream/promises";

// node_modules/execa/lib/resolve/wait-stream.js
import { finished as finished4 } from "node:stream/promises";
var waitForStream = async (stream, fdNumber, streamInfo, {
  isSameDirection,
  stopOnExit = false,
  readable = true,
  writable = true
} = {}) => {
  const state = handleStdinDestroy(stream, streamInfo);
  const abortController = new AbortController();
  try {
    await Promise.race([
      ...stopOnExit ? [streamInfo.exitPromise] : [],
      finished4(stream, {
        cleanup: true,
        signal: abortController.signal,
        readable,
        writable
      })
    ]);
  } catch (error) {
    if (!state.stdinCleanedUp && !isInputTransformAbort(stream, fdNumber, streamInfo, error)) {
      handleStreamError(error, fdNumber, streamInfo, isSameDirection);
    }
  } finally {
    abortController.abort();
  }
};
var handleStdinDestroy = (stream, { originalStreams, subprocess }) => {
  const [originalStdin] = originalStreams;
  const state = { stdinCleanedUp: false };
  if (stream === originalStdin || stream === subprocess.stdin) {
    spyOnStdinDestroy(stream, subprocess, state);
  }
  return state;
};
var spyOnStdinDestroy = (subprocessStdin, subprocess, state) => {
  const { _destroy } = subprocessStdin;
  subprocessStdin._destroy = (...destroyArguments) => {
    setStdinCleanedUp(subprocess, state);
    _destroy.call(subprocessStdin, ...destroyArguments);
  };
};
var setStdinCleanedUp = ({ exitCode, signalCode }, state) => {
  if (exitCode !== null || signalCode !== null) {
    state.stdinCleanedUp = true;
  }
};
var isInputTransformAbort = (stream, fdNumber, streamInfo, error) => {
  const originalStream = streamInfo.originalStreams[fdNumber];
  return stream !== originalStream && isInputFileDescriptor(streamInfo, fdNumber) && originalStream?.destroyed === true && (isStreamAbort(error) || error?.code === "ABORT_ERR");
};
var handleStreamError = (error, fdNumber, streamInfo, isSameDirection) => {
  if (!shouldIgnoreStreamError(error, fdNumber, streamInfo, isSameDirection)) {
    throw error;
  }
};
var shouldIgnoreStreamError = (error, fdNumber, streamInfo, isSameDirection = true) => {
  if (streamInfo.propagating) {
    return isStreamEpipe(error) || isStreamAbort(error);
  }
  streamInfo.propagating = true;
  return isInputFileDescriptor(streamInfo, fdNumber) === isSameDirection ? isStreamEpipe(error) : isStreamAbort(error);
};
var isInputFileDescriptor = ({ fileDescriptors }, fdNumber) => fdNumber !== "all" && fileDescriptors[fdNumber].direction === "input";
var isStreamAbort = (error) => error?.code === "ERR_STREAM_PREMATURE_CLOSE";
var isStreamEpipe = (error) => error?.code === "EPIPE";

// node_modules/execa/lib/convert/shared.js
var safeWaitForSubprocessStdin = async (subprocessStdin) => {
  if (subprocessStdin === void 0) {
    return;
  }
  try {
    await waitForSubprocessStdin(subprocessStdin);
  } catch {
  }
};
var safeWaitForSubprocessStdout = async (subprocessStdout) => {
  if (subprocessStdout === void 0) {
    return;
  }
  try {
    await waitForSubprocessStdout(subprocessStdout);
  } catch {
  }
};
var waitForSubprocessStdin = async (subprocessStdin) => {
  await finished5(subprocessStdin, { cleanup: true, readable: false, writable: true });
};
var waitForSubprocessStdout = async (subprocessStdout) => {
  await finished5(subprocessStdout, { cleanup: true, readable: true, writable: false });
};
var throwDestroyError = (error) => {
  if (error) {
    throw error;
  }
};
var destroyOtherStream = (stream, isOpen, error) => {
  if (error && !isStreamAbort(error)) {
    stream.destroy(error);
  } else if (isOpen) {
    stream.destroy();
  }
};

// node_modules/execa/lib/convert/readable.js
var createReadable = ({ subprocess, concurrentStreams, encoding }, options) => {
  const { from, binary: binaryOption = true, preserveNewlines = true } = copyOptions(options);
  checkBooleanOption(binaryOption, "binary");
  checkBooleanOption(preserveNewlines, "preserveNewlines");
  const binary = binaryOption || BINARY_ENCODINGS.has(encoding);
  const subprocessStdout = getFromStream(subprocess, from);
  const waitReadableDestroy = addConcurrentStream(concurrentStreams, subprocessStdout, "readableDestroy");
  const { readableEncoding, readableObjectMode, readableHighWaterMark } = getReadableOptions(subprocessStdout, binary);
  const { read, onStdoutDataDone } = getReadableMethods({
    subprocessStdout,
    subprocess,
    binary,
    encoding,
    preserveNewlines
  });
  const readable = new Readable3({
    read,
    destroy: callbackify3(onReadableDestroy.bind(void 0, { subprocessStdout, subprocess, waitReadableDestroy })),
    highWaterMark: readableHighWaterMark,
    objectMode: readableObjectMode,
    encoding: readableEncoding
  });
  onStdoutFinished({
    subprocessStdout,
    onStdoutDataDone,
    readable,
    subprocess
  });
  return readable;
};
var getReadableOptions = ({ readableEncoding, readableObjectMode, readableHighWaterMark }, binary) => binary ? { readableEncoding, readableObjectMode, readableHighWaterMark } : { readableEncoding, readableObjectMode: true, readableHighWaterMark: DEFAULT_OBJECT_HIGH_WATER_MARK };
var getReadableMethods = ({ subprocessStdout, subprocess, binary, encoding, preserveNewlines }) => {
  const onStdoutDataDone = createDeferred();
  const onStdoutData = iterateOnSubprocessStream({
    subprocessStdout,
    subprocess,
    binary,
    shouldEncode: !binary,
    encoding,
    preserveNewlines
  });
  return {
    read() {
      onRead(this, onStdoutData, onStdoutDataDone);
    },
    onStdoutDataDone
  };
};
var onRead = async (readable, onStdoutData, onStdoutDataDone) => {
  try {
    const { value, done } = await onStdoutData.next();
    if (done) {
      onStdoutDataDone.resolve();
    } else {
      readable.push(value);
    }
  } catch {
  }
};
var onStdoutFinished = async ({ subprocessStdout, onStdoutDataDone, readable, subprocess, subprocessStdin }) => {
  try {
    await waitForSubprocessStdout(subprocessStdout);
    await subprocess;
    await safeWaitForSubprocessStdin(subprocessStdin);
    await onStdoutDataDone;
    if (readable.readable) {
      readable.push(null);
    }
  } catch (error) {
    await safeWaitForSubprocessStdin(subprocessStdin);
    destroyOtherReadable(readable, await getPrematureCloseError(subprocess, error));
  }
};
var getPrematureCloseError = async (subprocess, error) => {
  if (error.code !== "ERR_STREAM_PREMATURE_CLOSE") {
    return error;
  }
  try {
    await subprocess;
  } catch (subprocessError) {
    return subprocessError;
  }
  return error;
};
var onReadableDestroy = async ({ subprocessStdout, subprocess, waitReadableDestroy }, error) => {
  if (await waitForConcurrentStreams(waitReadableDestroy, subprocess)) {
    destroyOtherReadable(subprocessStdout, error?.code === "ABORT_ERR" ? void 0 : error);
    await subprocess;
  }
  throwDestroyError(error);
};
var destroyOtherReadable = (stream, error) => {
  destroyOtherStream(stream, stream.readable, error);
};

// node_modules/execa/lib/convert/web.js
import { Readable as Readable4, Writable as Writable3, Duplex as Duplex3 } from "node:stream";
var createReadableStream = (subprocess, readableOptions) => Readable4.toWeb(subprocess.readable(readableOptions));
var createWritableStream = (subprocess, writableOptions) => Writable3.toWeb(subprocess.writable(writableOptions));
var createTransformStream = (subprocess, duplexOptions) => Duplex3.toWeb(subprocess.duplex(duplexOptions));

// node_modules/execa/lib/pipe/pipe-arguments.js
var normalizePipeArguments = ({ source: source2, sourcePromise, boundOptions, createNested }, ...pipeArguments) => {
  const startTime = getStartTime();
  const {
    destination,
    destinationStream,
    destinationError,
    from,
    unpipeSignal
  } = getDestinationStream(boundOptions, createNested, pipeArguments);
  const { sourceStream, sourceError } = getSourceStream(source2, from);
  const { options: sourceOptions, fileDescriptors } = SUBPROCESS_OPTIONS.get(source2);
  return {
    source: source2,
    sourcePromise,
    sourceStream,
    sourceOptions,
    sourceError,
    destination,
    destinationStream,
    destinationError,
    unpipeSignal,
    fileDescriptors,
    startTime
  };
};
var getDestinationStream = (boundOptions, createNested, pipeArguments) => {
  let destinationInfo;
  try {
    destinationInfo = getDestination(boundOptions, createNested, ...pipeArguments);
  } catch (error) {
    return { destinationError: error };
  }
  const { destination, pipeOptions } = destinationInfo;
  try {
    const { from, to, unpipeSignal } = copyOptions(pipeOptions);
    validateAbortSignal(unpipeSignal, "unpipeSignal");
    const destinationStream = getToStream(destination, to);
    return {
      destination,
      destinationStream,
      from,
      unpipeSignal
    };
  } catch (error) {
    abortDestination(destination, pipeArguments[0]);
    return { destinationError: error };
  }
};
var abortDestination = (destination, firstArgument) => {
  if (destination !== firstArgument) {
    destination.kill();
  }
  destination.catch(() => {
  });
};
var getDestination = (boundOptions, createNested, firstArgument, ...pipeArguments) => {
  if (Array.isArray(firstArgument)) {
    const destination = createNested(mapDestinationArguments, boundOptions)(firstArgument, ...pipeArguments);
    return { destination, pipeOptions: boundOptions };
  }
  if (typeof firstArgument === "string" || firstArgument instanceof URL || isDenoExecPath(firstArgument)) {
    if (Object.keys(boundOptions).length > 0) {
      throw new TypeError('Please use .pipe("file", ..., options) or .pipe(execa("file", ..., options)) instead of .pipe(options)("file", ...).');
    }
    const [rawFile, rawArguments, rawOptions] = normalizeParameters(firstArgument, ...pipeArguments);
    const destination = createNested(mapDestinationArguments)(rawFile, rawArguments, rawOptions);
    return { destination, pipeOptions: rawOptions };
  }
  if (SUBPROCESS_OPTIONS.has(firstArgument)) {
    if (Object.keys(boundOptions).length > 0) {
      throw new TypeError("Please use .pipe(options)`command` or .pipe($(options)`command`) instead of .pipe(options)($`command`).");
    }
    return { destination: firstArgument, pipeOptions: pipeArguments[0] };
  }
  throw new TypeError(`The first argument must be a template string, an options object, or an Execa subprocess: ${firstArgument}`);
};
var mapDestinationArguments = ({ options }) => ({
  options: {
    __proto__: null,
    ...options,
    // Piping writes to the destination's `stdin`, which is forced even if the user set another value.
    // However, `stdin` cannot be combined with `stdio`, which is needed for `to: 'fd3'` and higher.
    ...options.stdio === void 0 && { stdin: "pipe" },
    piped: true
  }
});
var getSourceStream = (source2, from) => {
  try {
    const sourceStream = getFromStream(source2, from);
    return { sourceStream };
  } catch (error) {
    return { sourceError: error };
  }
};

// node_modules/execa/lib/pipe/throw.js
var handlePipeArgumentsError = ({
  sourceStream,
  sourceError,
  destinationStream,
  destinationError,
  fileDescriptors,
  sourceOptions,
  startTime
}) => {
  const error = getPipeArgumentsError({
    sourceStream,
    sourceError,
    destinationStream,
    destinationError
  });
  if (error !== void 0) {
    throw createNonCommandError({
      error,
      fileDescriptors,
      sourceOptions,
      startTime
    });
  }
};
var getPipeArgumentsError = ({ sourceStream, sourceError, destinationStream, destinationError }) => {
  if (sourceError !== void 0 && destinationError !== void 0) {
    return destinationError;
  }
  if (destinationError !== void 0) {
    abortSourceStream(sourceStream);
    return destinationError;
  }
  if (sourceError === void 0) {
    return;
  }
  endDestinationStream(destinationStream);
  return sourceError;
};
var createNonCommandError = ({ error, fileDescriptors, sourceOptions, startTime }) => makeEarlyError({
  error,
  command: PIPE_COMMAND_MESSAGE,
  escapedCommand: PIPE_COMMAND_MESSAGE,
  fileDescriptors,
  options: sourceOptions,
  startTime,
  isSync: false
});
var PIPE_COMMAND_MESSAGE = "source.pipe(destination)";

// node_modules/execa/lib/pipe/sequence.js
var waitForBothSubprocesses = async (subprocessPromises) => {
  const [
    { status: sourceStatus, reason: sourceReason, value: sourceResult = sourceReason },
    { status: destinationStatus, reason: destinationReason, value: destinationResult = destinationReason },
    { reason: pipedFromReason, value: pipedFromResult = pipedFromReason }
  ] = await subprocessPromises;
  if (!destinationResult.pipedFrom.includes(pipedFromResult)) {
    destinationResult.pipedFrom.push(pipedFromResult);
  }
  if (destinationStatus === "rejected") {
    throw destinationResult;
  }
  if (sourceStatus === "rejected") {
    throw sourceResult;
  }
  return destinationResult;
};

// node_modules/execa/lib/pipe/streaming.js
import { finished as finished6 } from "node:stream/promises";
var pipeSubprocessStream = (sourceStream, destinationStream, maxListenersController) => {
  const mergedStream = MERGED_STREAMS.has(destinationStream) ? pipeMoreSubprocessStream(sourceStream, destinationStream) : pipeFirstSubprocessStream(sourceStream, destinationStream);
  incrementMaxListeners(sourceStream, SOURCE_LISTENERS_PER_PIPE, maxListenersController.signal);
  incrementMaxListeners(destinationStream, DESTINATION_LISTENERS_PER_PIPE, maxListenersController.signal);
  cleanupMergedStreamsMap(destinationStream);
  return mergedStream;
};
var pipeFirstSubprocessStream = (sourceStream, destinationStream) => {
  const mergedStream = mergeStreams([sourceStream]);
  addMergeSource(mergedStream, sourceStream);
  pipeStreams(mergedStream, destinationStream, () => unpipeSourcesOnDestinationEnd(mergedStream));
  MERGED_STREAMS.set(destinationStream, mergedStream);
  return mergedStream;
};
var pipeMoreSubprocessStream = (sourceStream, destinationStream) => {
  const mergedStream = MERGED_STREAMS.get(destinationStream);
  mergedStream.add(sourceStream);
  addMergeSource(mergedStream, sourceStream);
  return mergedStream;
};
var MERGE_SOURCES = /* @__PURE__ */ new WeakMap();
var SOURCE_MERGES = /* @__PURE__ */ new WeakMap();
var addMergeSource = (mergedStream, sourceStream) => {
  addToSetMap(MERGE_SOURCES, mergedStream, sourceStream);
  addToSetMap(SOURCE_MERGES, sourceStream, mergedStream);
};
var addToSetMap = (map, key, value) => {
  if (!map.has(key)) {
    map.set(key, /* @__PURE__ */ new Set());
  }
  map.get(key).add(value);
};
var unpipeSubprocessStream = async (mergedStream, sourceStream) => {
  MERGE_SOURCES.get(mergedStream)?.delete(sourceStream);
  SOURCE_MERGES.get(sourceStream)?.delete(mergedStream);
  await mergedStream.remove(sourceStream);
};
var unpipeSourcesOnDestinationEnd = async (mergedStream) => {
  for (const sourceStream of MERGE_SOURCES.get(mergedStream)) {
    const mergedStreams = SOURCE_MERGES.get(sourceStream);
    mergedStreams.delete(mergedStream);
    if (mergedStreams.size > 0) {
      await mergedStream.remove(sourceStream);
    }
  }
};
var cleanupMergedStreamsMap = async (destinationStream) => {
  try {
    await finished6(destinationStream, { cleanup: true, readable: false, writable: true });
  } catch {
  }
  MERGED_STREAMS.delete(destinationStream);
};
var MERGED_STREAMS = /* @__PURE__ */ new WeakMap();
var SOURCE_LISTENERS_PER_PIPE = 2;
var DESTINATION_LISTENERS_PER_PIPE = 1;

// node_modules/execa/lib/pipe/abort.js
import { aborted } from "node:util";
var unpipeOnAbort = (unpipeSignal, unpipeContext) => unpipeSignal === void 0 ? [] : [unpipeOnSignalAbort(unpipeSignal, unpipeContext)];
var unpipeOnSignalAbort = async (unpipeSignal, { sourceStream, mergedStream, fileDescriptors, sourceOptions, startTime }) => {
  await aborted(unpipeSignal, sourceStream);
  await unpipeSubprocessStream(mergedStream, sourceStream);
  const error = new Error("Pipe canceled by `unpipeSignal` option.");
  throw createNonCommandError({
    error,
    fileDescriptors,
    sourceOptions,
    startTime
  });
};

// node_modules/execa/lib/pipe/setup.js
var pipeToSubprocess = (sourceInfo, ...pipeArguments) => {
  if (isPlainObject(pipeArguments[0])) {
    return pipeToSubprocess.bind(void 0, {
      ...sourceInfo,
      boundOptions: { ...sourceInfo.boundOptions, ...pipeArguments[0] }
    });
  }
  if (sourceInfo.source === void 0) {
    return sourceInfo.sourcePromise;
  }
  const { destination, ...normalizedInfo } = normalizePipeArguments(sourceInfo, ...pipeArguments);
  const pipeFailureController = new AbortController();
  const promise = handlePipePromise({ ...normalizedInfo, destination, pipeFailureController });
  promise.pipe = pipeToSubprocess.bind(void 0, {
    ...sourceInfo,
    source: destination,
    sourcePromise: promise,
    boundOptions: {}
  });
  forwardDestinationMethods(promise, destination, pipeFailureController.signal);
  return promise;
};
var forwardDestinationMethods = (promise, destination, pipeFailureSignal) => {
  if (destination === void 0) {
    return;
  }
  forwardReadableMethods(promise, destination);
  forwardIpcMethods(promise, destination, pipeFailureSignal);
};
var forwardReadableMethods = (promise, destination) => {
  const subprocessOptions = SUBPROCESS_OPTIONS.get(destination);
  SUBPROCESS_OPTIONS.set(promise, subprocessOptions);
  promise.stdio = destination.stdio;
  promise.all = destination.all;
  const { options: { encoding } } = subprocessOptions;
  const concurrentStreams = initializeConcurrentStreams();
  promise[Symbol.asyncIterator] = createIterable.bind(void 0, promise, encoding, {});
  promise.iterable = createIterable.bind(void 0, promise, encoding);
  promise.readable = createPipeReadable.bind(void 0, promise, {
    subprocess: promise,
    concurrentStreams,
    encoding
  });
  promise.readableStream = createReadableStream.bind(void 0, promise);
  forwardAll(promise, destination);
};
var forwardAll = (promise, destination) => {
  if (destination.all === void 0) {
    promise.all = void 0;
    return;
  }
  Object.defineProperty(promise, "all", {
    get() {
      setAllProperty(promise, destination.all);
      const all = promise.readable({ from: "all" });
      all.on("error", () => {
      });
      setAllProperty(promise, all);
      return all;
    },
    enumerable: true,
    configurable: true
  });
};
var setAllProperty = (promise, value) => {
  Object.defineProperty(promise, "all", {
    value,
    writable: true,
    enumerable: true,
    configurable: true
  });
};
var createPipeReadable = (promise, readableOptions, ...arguments_) => {
  const readable = createReadable(readableOptions, ...arguments_);
  destroyOnPipeFailure(promise, readable);
  return readable;
};
var destroyOnPipeFailure = async (promise, readable) => {
  try {
    await promise;
  } catch (error) {
    readable.destroy(error);
  }
};
var forwardIpcMethods = (promise, destination, pipeFailureSignal) => {
  promise.sendMessage = destination.sendMessage;
  promise.getOneMessage = getOnePipeMessage.bind(void 0, destination, pipeFailureSignal);
  promise.getEachMessage = getEachPipeMessage.bind(void 0, promise, destination, pipeFailureSignal);
};
var getOnePipeMessage = (destination, pipeFailureSignal, ...arguments_) => {
  const controller = new AbortController();
  const messagePromise = destination.getOneMessage(...addPipeOptions(arguments_, controller.signal, internalGetOneMessageOptions));
  return waitForOnePipeMessage(pipeFailureSignal, messagePromise, controller);
};
var waitForOnePipeMessage = async (pipeFailureSignal, messagePromise, controller) => {
  try {
    return await Promise.race([messagePromise, getSignalRejection(pipeFailureSignal, controller.signal)]);
  } finally {
    controller.abort();
  }
};
var getSignalRejection = (signal, listenerSignal) => new Promise((_, reject) => {
  if (signal.aborted) {
    reject(signal.reason);
    return;
  }
  signal.addEventListener("abort", () => {
    reject(signal.reason);
  }, { once: true, signal: listenerSignal });
});
var getEachPipeMessage = (promise, destination, pipeFailureSignal, ...arguments_) => {
  const controller = new AbortController();
  const iterator = destination.getEachMessage(...addPipeOptions(arguments_, controller.signal, internalGetEachMessageOptions));
  abortOnSignal(pipeFailureSignal, controller);
  return iterateOnPipeMessages(promise, iterator, controller);
};
var iterateOnPipeMessages = async function* (promise, iterator, controller) {
  try {
    yield* iterator;
  } finally {
    controller.abort();
    await promise;
  }
};
var addPipeOptions = (arguments_, signal, internalOptionsSymbol) => {
  if (arguments_[0] === null) {
    return arguments_;
  }
  const [options] = arguments_;
  return [{ ...options, [internalOptionsSymbol]: { signal, shouldAwait: false } }];
};
var abortOnSignal = (signal, controller) => {
  if (signal.aborted) {
    controller.abort();
    return;
  }
  signal.addEventListener("abort", () => {
    controller.abort();
  }, { once: true, signal: controller.signal });
};
var handlePipePromise = async ({
  source: source2,
  sourcePromise,
  sourceStream,
  sourceOptions,
  sourceError,
  destination,
  destinationStream,
  destinationError,
  unpipeSignal,
  fileDescriptors,
  startTime,
  pipeFailureController
}) => {
  const maxListenersController = new AbortController();
  try {
    const subprocessPromises = getSubprocessPromises(sourcePromise, destination, source2);
    handlePipeArgumentsError({
      sourceStream,
      sourceError,
      destinationStream,
      destinationError,
      fileDescriptors,
      sourceOptions,
      startTime
    });
    const mergedStream = pipeSubprocessStream(sourceStream, destinationStream, maxListenersController);
    return await Promise.race([
      waitForBothSubprocesses(subprocessPromises),
      ...unpipeOnAbort(unpipeSignal, {
        sourceStream,
        mergedStream,
        sourceOptions,
        fileDescriptors,
        startTime
      })
    ]);
  } catch (error) {
    pipeFailureController.abort(error);
    throw error;
  } finally {
    maxListenersController.abort();
  }
};
var getSubprocessPromises = (sourcePromise, destination, source2) => Promise.allSettled([sourcePromise, destination, source2]);

// node_modules/execa/lib/io/contents.js
import { setImmediate } from "node:timers/promises";
var getStreamOutput = async ({ stream, onStreamEnd, fdNumber, encoding, buffer, maxBuffer, lines, allMixed, stripFinalNewline: stripFinalNewline2, allFds, verboseInfo, streamInfo }) => {
  const logPromise = logOutputAsync({
    stream,
    onStreamEnd,
    fdNumber,
    encoding,
    allMixed,
    verboseInfo,
    streamInfo
  });
  if (!buffer) {
    await Promise.all([resumeStream(stream), logPromise]);
    return;
  }
  const stripFinalNewlineValue = getStripFinalNewline(stripFinalNewline2, fdNumber, allFds);
  const iterable = iterateForResult({
    stream,
    onStreamEnd,
    lines,
    encoding,
    stripFinalNewline: stripFinalNewlineValue,
    allMixed
  });
  const [output2] = await Promise.all([
    getStreamContents2({
      stream,
      iterable,
      fdNumber,
      encoding,
      maxBuffer,
      lines
    }),
    logPromise
  ]);
  return output2;
};
var logOutputAsync = async ({ stream, onStreamEnd, fdNumber, encoding, allMixed, verboseInfo, streamInfo: { fileDescriptors } }) => {
  if (!shouldLogOutput({
    stdioItems: fileDescriptors[fdNumber]?.stdioItems,
    encoding,
    verboseInfo,
    fdNumber
  })) {
    return;
  }
  const linesIterable = iterateForResult({
    stream,
    onStreamEnd,
    lines: true,
    encoding,
    stripFinalNewline: true,
    allMixed
  });
  await logLines(linesIterable, stream, fdNumber, verboseInfo);
};
var resumeStream = async (stream) => {
  await setImmediate();
  if (stream.readableFlowing === null) {
    stream.resume();
  }
};
var getStreamContents2 = async ({ stream, stream: { readableObjectMode }, iterable, fdNumber, encoding, maxBuffer, lines }) => {
  try {
    if (readableObjectMode || lines) {
      return await getStreamAsArray(iterable, { maxBuffer });
    }
    return encoding === "buffer" ? new Uint8Array(await getStreamAsArrayBuffer(iterable, { maxBuffer })) : await getStreamAsString(iterable, { maxBuffer });
  } catch (error) {
    return handleBufferedData(handleMaxBuffer({
      error,
      stream,
      readableObjectMode,
      lines,
      encoding,
      fdNumber
    }));
  }
};
var getBufferedData = async (streamPromise) => {
  try {
    return await streamPromise;
  } catch (error) {
    return handleBufferedData(error);
  }
};
var handleBufferedData = (error) => isArrayBuffer(error?.bufferedData) ? new Uint8Array(error.bufferedData) : error?.bufferedData;

// node_modules/execa/lib/resolve/stdio.js
var waitForStdioStreams = ({ subprocess, encoding, buffer, maxBuffer, lines, stripFinalNewline: stripFinalNewline2, verboseInfo, streamInfo }) => subprocess.stdio.map((stream, fdNumber) => waitForSubprocessStream({
  stream,
  fdNumber,
  encoding,
  buffer: buffer[fdNumber],
  maxBuffer: maxBuffer[fdNumber],
  lines: lines[fdNumber],
  allMixed: false,
  stripFinalNewline: stripFinalNewline2,
  verboseInfo,
  streamInfo
}));
var waitForSubprocessStream = async ({ stream, fdNumber, encoding, buffer, maxBuffer, lines, allMixed, stripFinalNewline: stripFinalNewline2, allFds, verboseInfo, streamInfo }) => {
  if (!stream) {
    return;
  }
  const onStreamEnd = waitForStream(stream, fdNumber, streamInfo);
  if (isInputFileDescriptor(streamInfo, fdNumber)) {
    await onStreamEnd;
    return;
  }
  const [output2] = await Promise.all([
    getStreamOutput({
      stream,
      onStreamEnd,
      fdNumber,
      encoding,
      buffer,
      maxBuffer,
      lines,
      allMixed,
      stripFinalNewline: stripFinalNewline2,
      allFds,
      verboseInfo,
      streamInfo
    }),
    onStreamEnd
  ]);
  return output2;
};

// node_modules/execa/lib/resolve/all-async.js
var makeAllStream = ({ stdout, stderr }, { all }) => {
  if (!all) {
    return;
  }
  const fileDescriptors = [[stdout, 1], [stderr, 2]].filter(([stream]) => stream);
  return fileDescriptors.length === 0 ? void 0 : setAllStream(mergeStreams(fileDescriptors.map(([stream]) => stream)));
};
var getAllFds = ({ stdout, stderr }, [, bufferStdout, bufferStderr]) => [
  ...stdout !== null && bufferStdout ? [1] : [],
  ...stderr !== null && bufferStderr ? [2] : []
];
var waitForAllStream = ({ subprocess, all, encoding, buffer, maxBuffer, lines, stripFinalNewline: stripFinalNewline2, verboseInfo, streamInfo }) => {
  const { stream, buffer: bufferAll, drainedStream } = getAllStream(subprocess, all, buffer);
  return Promise.all([
    waitForSubprocessStream({
      stream,
      buffer: bufferAll,
      fdNumber: "all",
      encoding,
      maxBuffer: maxBuffer[1] + maxBuffer[2],
      lines: lines[1] || lines[2],
      allFds: getAllFds(subprocess, buffer),
      // A single buffered descriptor keeps its own object mode, even when the merged stream has mixed modes.
      allMixed: stream === all && getAllMixed(subprocess, all),
      stripFinalNewline: stripFinalNewline2,
      verboseInfo,
      streamInfo
    }),
    // When only one of the two file descriptors is buffered, its stream is read instead of the merged one.
    // The merged one is then drained, otherwise it would apply backpressure on that file descriptor and hang the subprocess.
    drainedStream === void 0 ? void 0 : resumeStream(drainedStream)
  ]).then(([output2]) => output2);
};
var getAllStream = ({ stdout, stderr }, all, [, bufferStdout, bufferStderr]) => {
  const buffer = bufferStdout || bufferStderr;
  if (!buffer) {
    return { stream: all, buffer };
  }
  if (!all) {
    return { stream: void 0, buffer };
  }
  if (!bufferStdout) {
    return { stream: stderr, buffer, drainedStream: all };
  }
  return bufferStderr ? { stream: all, buffer } : { stream: stdout, buffer, drainedStream: all };
};
var getAllMixed = ({ stdout, stderr }, all) => all && stdout && stderr && stdout.readableObjectMode !== stderr.readableObjectMode;

// node_modules/execa/lib/resolve/wait-subprocess.js
import { once as once8 } from "node:events";

// node_modules/execa/lib/verbose/ipc.js
var shouldLogIpc = (verboseInfo) => isFullVerbose(verboseInfo, "ipc");
var logIpcOutput = (message, verboseInfo) => {
  const verboseMessage = serializeVerboseMessage(message);
  verboseLog({
    type: "ipc",
    verboseMessage,
    fdNumber: "ipc",
    verboseInfo
  });
};

// node_modules/execa/lib/ipc/buffer-messages.js
var waitForIpcOutput = async ({
  subprocess,
  buffer: bufferArray,
  maxBuffer: maxBufferArray,
  ipc,
  ipcOutput,
  verboseInfo
}) => {
  if (!ipc) {
    return ipcOutput;
  }
  const isVerbose2 = shouldLogIpc(verboseInfo);
  const buffer = getFdSpecificValue(bufferArray, "ipc");
  const maxBuffer = getFdSpecificValue(maxBufferArray, "ipc");
  const logErrors = [];
  for await (const message of loopOnMessages({
    anyProcess: subprocess,
    channel: subprocess.channel,
    isSubprocess: false,
    ipc,
    shouldAwait: false,
    reference: true
  })) {
    if (buffer) {
      checkIpcMaxBuffer(ipcOutput, maxBuffer);
      ipcOutput.push(message);
    }
    if (isVerbose2) {
      try {
        logIpcOutput(message, verboseInfo);
      } catch (error) {
        logErrors.push(error);
      }
    }
  }
  if (logErrors.length > 0) {
    throw logErrors[0];
  }
  return ipcOutput;
};
var getBufferedIpcOutput = async (ipcOutputPromise, ipcOutput) => {
  await Promise.allSettled([ipcOutputPromise]);
  return ipcOutput;
};

// node_modules/execa/lib/resolve/wait-subprocess.js
var waitForSubprocessResult = async ({
  subprocess,
  kill,
  all,
  options: {
    encoding,
    buffer,
    maxBuffer,
    lines,
    timeoutDuration: timeout,
    cancelSignal,
    gracefulCancel,
    forceKillAfterDelay,
    stripFinalNewline: stripFinalNewline2,
    ipc,
    ipcInput
  },
  context,
  verboseInfo,
  fileDescriptors,
  originalStreams,
  onInternalError,
  controller
}) => {
  const exitPromise = waitForExit(subprocess, context);
  const streamInfo = {
    originalStreams,
    fileDescriptors,
    subprocess,
    exitPromise,
    propagating: false
  };
  const stdioPromises = waitForStdioStreams({
    subprocess,
    encoding,
    buffer,
    maxBuffer,
    lines,
    stripFinalNewline: stripFinalNewline2,
    verboseInfo,
    streamInfo
  });
  const allPromise = waitForAllStream({
    subprocess,
    all,
    encoding,
    buffer,
    maxBuffer,
    lines,
    stripFinalNewline: stripFinalNewline2,
    verboseInfo,
    streamInfo
  });
  const ipcOutput = [];
  const ipcOutputPromise = waitForIpcOutput({
    subprocess,
    buffer,
    maxBuffer,
    ipc,
    ipcOutput,
    verboseInfo
  });
  const originalPromises = waitForOriginalStreams(originalStreams, subprocess, streamInfo);
  const customStreamsEndPromises = waitForCustomStreamsEnd(fileDescriptors, streamInfo);
  try {
    return await Promise.race([
      Promise.all([
        {},
        waitForSuccessfulExit(exitPromise),
        Promise.all(stdioPromises),
        allPromise,
        ipcOutputPromise,
        sendIpcInput(subprocess, ipcInput, ipc),
        ...originalPromises,
        ...customStreamsEndPromises
      ]),
      onInternalError,
      throwOnSubprocessError(subprocess, controller),
      ...throwOnTimeout(kill, timeout, context, controller),
      ...throwOnCancel({
        kill,
        cancelSignal,
        gracefulCancel,
        context,
        controller
      }),
      ...throwOnGracefulCancel({
        subprocess,
        kill,
        cancelSignal,
        gracefulCancel,
        forceKillAfterDelay,
        context,
        controller
      })
    ]);
  } catch (error) {
    context.terminationReason ??= "other";
    if (error instanceof MaxBufferError) {
      kill();
    }
    return Promise.all([
      { error },
      exitPromise,
      Promise.all(stdioPromises.map((stdioPromise) => getBufferedData(stdioPromise))),
      getBufferedData(allPromise),
      getBufferedIpcOutput(ipcOutputPromise, ipcOutput),
      Promise.allSettled(originalPromises),
      Promise.allSettled(customStreamsEndPromises)
    ]);
  }
};
var waitForOriginalStreams = (originalStreams, subprocess, streamInfo) => originalStreams.map((stream, fdNumber) => stream === subprocess.stdio[fdNumber] ? void 0 : waitForStream(stream, fdNumber, streamInfo));
var waitForCustomStreamsEnd = (fileDescriptors, streamInfo) => fileDescriptors.flatMap(({ stdioItems, direction }, fdNumber) => stdioItems.filter(({ value, stream = value }) => isStream(stream, { checkOpen: false }) && !isStandardStream(stream)).map(({ type, value, stream = value }) => waitForStream(stream, fdNumber, streamInfo, {
  isSameDirection: TRANSFORM_TYPES.has(type),
  stopOnExit: type === "native",
  // Output streams are destinations which are handed back to the user: waiting for their readable side would mean waiting for the user to consume them.
  readable: direction !== "output" || TRANSFORM_TYPES.has(type)
})));
var throwOnSubprocessError = async (subprocess, { signal }) => {
  const [error] = await once8(subprocess, "error", { signal });
  throw error;
};

// node_modules/execa/lib/convert/writable.js
import { Writable as Writable4 } from "node:stream";
import { callbackify as callbackify4 } from "node:util";
var createWritable = ({ subprocess, concurrentStreams }, options) => {
  const { to } = copyOptions(options);
  const subprocessStdin = getToStream(subprocess, to);
  const { waitWritableFinal, waitWritableDestroy } = addWritableConcurrentStreams(concurrentStreams, subprocessStdin);
  const writable = new Writable4({
    ...getWritableMethods(subprocessStdin, subprocess, waitWritableFinal),
    destroy: callbackify4(onWritableDestroy.bind(void 0, {
      subprocessStdin,
      subprocess,
      waitWritableFinal,
      waitWritableDestroy
    })),
    highWaterMark: subprocessStdin.writableHighWaterMark,
    objectMode: subprocessStdin.writableObjectMode
  });
  onStdinFinished(subprocessStdin, writable, void 0, subprocess);
  return writable;
};
var addWritableConcurrentStreams = (concurrentStreams, subprocessStdin) => {
  const waitWritableFinal = addConcurrentStream(concurrentStreams, subprocessStdin, "writableFinal");
  const waitWritableDestroy = addConcurrentStream(concurrentStreams, subprocessStdin, "writableDestroy");
  return { waitWritableFinal, waitWritableDestroy };
};
var getWritableMethods = (subprocessStdin, subprocess, waitWritableFinal) => ({
  write: onWrite.bind(void 0, subprocessStdin),
  final: callbackify4(onWritableFinal.bind(void 0, subprocessStdin, subprocess, waitWritableFinal))
});
var onWrite = (subprocessStdin, chunk, encoding, done) => {
  if (subprocessStdin.write(chunk, encoding)) {
    done();
  } else {
    subprocessStdin.once("drain", done);
  }
};
var onWritableFinal = async (subprocessStdin, subprocess, waitWritableFinal) => {
  if (!await waitForConcurrentStreams(waitWritableFinal, subprocess)) {
    return;
  }
  if (subprocessStdin.writable) {
    subprocessStdin.end();
  }
  await subprocess;
};
var onStdinFinished = async (subprocessStdin, writable, subprocessStdout, subprocess) => {
  try {
    await waitForSubprocessStdin(subprocessStdin);
    await subprocess;
    if (writable.writable) {
      writable.end();
    }
  } catch (error) {
    await safeWaitForSubprocessStdout(subprocessStdout);
    destroyOtherStream(writable, !writable.writableFinished, await getSubprocessError(subprocess, error));
  }
};
var getSubprocessError = async (subprocess, error) => {
  if (!shouldUseSubprocessError(error)) {
    return error;
  }
  try {
    await subprocess;
  } catch (subprocessError) {
    return subprocessError;
  }
  return error;
};
var shouldUseSubprocessError = (error) => error === void 0 || isStreamAbort(error) || error.code === "EPIPE";
var onWritableDestroy = async ({ subprocessStdin, subprocess, waitWritableFinal, waitWritableDestroy }, error) => {
  await waitForConcurrentStreams(waitWritableFinal, subprocess);
  if (await waitForConcurrentStreams(waitWritableDestroy, subprocess)) {
    destroyOtherWritable(subprocessStdin, error);
    await subprocess;
  }
  throwDestroyError(error);
};
var destroyOtherWritable = (stream, error) => {
  destroyOtherStream(stream, stream.writable, error);
};

// node_modules/execa/lib/convert/duplex.js
import { Duplex as Duplex4 } from "node:stream";
import { callbackify as callbackify5 } from "node:util";
var createDuplex = ({ subprocess, concurrentStreams, encoding }, options) => {
  const { from, to, binary: binaryOption = true, preserveNewlines = true } = copyOptions(options);
  checkBooleanOption(binaryOption, "binary");
  checkBooleanOption(preserveNewlines, "preserveNewlines");
  const binary = binaryOption || BINARY_ENCODINGS.has(encoding);
  const subprocessStdout = getFromStream(subprocess, from);
  const subprocessStdin = getToStream(subprocess, to);
  const waitReadableDestroy = addConcurrentStream(concurrentStreams, subprocessStdout, "readableDestroy");
  const { waitWritableFinal, waitWritableDestroy } = addWritableConcurrentStreams(concurrentStreams, subprocessStdin);
  const { readableEncoding, readableObjectMode, readableHighWaterMark } = getReadableOptions(subprocessStdout, binary);
  const { read, onStdoutDataDone } = getReadableMethods({
    subprocessStdout,
    subprocess,
    binary,
    encoding,
    preserveNewlines
  });
  const duplex = new Duplex4({
    read,
    ...getWritableMethods(subprocessStdin, subprocess, waitWritableFinal),
    destroy: callbackify5(onDuplexDestroy.bind(void 0, {
      subprocessStdout,
      subprocessStdin,
      subprocess,
      waitReadableDestroy,
      waitWritableFinal,
      waitWritableDestroy
    })),
    readableHighWaterMark,
    writableHighWaterMark: subprocessStdin.writableHighWaterMark,
    readableObjectMode,
    writableObjectMode: subprocessStdin.writableObjectMode,
    encoding: readableEncoding
  });
  onStdoutFinished({
    subprocessStdout,
    onStdoutDataDone,
    readable: duplex,
    subprocess,
    subprocessStdin
  });
  onStdinFinished(subprocessStdin, duplex, subprocessStdout, subprocess);
  return duplex;
};
var onDuplexDestroy = async ({ subprocessStdout, subprocessStdin, subprocess, waitReadableDestroy, waitWritableFinal, waitWritableDestroy }, error) => {
  await Promise.all([
    onReadableDestroy({ subprocessStdout, subprocess, waitReadableDestroy }, error),
    onWritableDestroy({
      subprocessStdin,
      subprocess,
      waitWritableFinal,
      waitWritableDestroy
    }, error)
  ]);
};

// node_modules/execa/lib/convert/add.js
var addConvertedStreams = (subprocess, { encoding }) => {
  const concurrentStreams = initializeConcurrentStreams();
  subprocess.readable = createReadable.bind(void 0, { subprocess, concurrentStreams, encoding });
  subprocess.writable = createWritable.bind(void 0, { subprocess, concurrentStreams });
  subprocess.duplex = createDuplex.bind(void 0, { subprocess, concurrentStreams, encoding });
  subprocess.readableStream = createReadableStream.bind(void 0, subprocess);
  subprocess.writableStream = createWritableStream.bind(void 0, subprocess);
  subprocess.transformStream = createTransformStream.bind(void 0, subprocess);
  subprocess.iterable = createIterable.bind(void 0, subprocess, encoding);
  subprocess[Symbol.asyncIterator] = createIterable.bind(void 0, subprocess, encoding, {});
};

// node_modules/execa/lib/methods/promise.js
var mergePromise = (promise, properties) => Object.assign(promise, properties);

// node_modules/execa/lib/methods/main-async.js
var execaCoreAsync = (rawFile, rawArguments, rawOptions, createNested) => {
  const { file, commandArguments, command, escapedCommand, startTime, verboseInfo, options, fileDescriptors } = handleAsyncArguments(rawFile, rawArguments, rawOptions);
  const { subprocess: nodeChildProcess, promise, kill, all, convertedStreams } = spawnSubprocessAsync({
    file,
    commandArguments,
    options,
    startTime,
    verboseInfo,
    command,
    escapedCommand,
    fileDescriptors
  });
  const subprocess = getSubprocessPromise({
    promise,
    nodeChildProcess,
    kill,
    all,
    convertedStreams,
    options
  });
  subprocess.pipe = pipeToSubprocess.bind(void 0, {
    source: subprocess,
    sourcePromise: promise,
    boundOptions: {},
    createNested
  });
  SUBPROCESS_OPTIONS.set(subprocess, { options, fileDescriptors });
  return subprocess;
};
var handleAsyncArguments = (rawFile, rawArguments, rawOptions) => {
  const { command, escapedCommand, startTime, verboseInfo } = handleCommand(rawFile, rawArguments, rawOptions);
  const { file, commandArguments, options: normalizedOptions } = normalizeOptions(rawFile, rawArguments, rawOptions);
  const options = handleAsyncOptions(normalizedOptions);
  const fileDescriptors = handleStdioAsync(options, verboseInfo);
  return {
    file,
    commandArguments,
    command,
    escapedCommand,
    startTime,
    verboseInfo,
    options,
    fileDescriptors
  };
};
var handleAsyncOptions = ({ timeout, signal, ...options }) => ({ __proto__: null, ...options, timeoutDuration: timeout });
var spawnSubprocessAsync = ({ file, commandArguments, options, startTime, verboseInfo, command, escapedCommand, fileDescriptors }) => {
  let subprocess;
  try {
    subprocess = spawn(...concatenateShell(file, commandArguments, getSpawnOptions(options)));
  } catch (error) {
    return handleEarlyError({
      error,
      command,
      escapedCommand,
      fileDescriptors,
      options,
      startTime,
      verboseInfo
    });
  }
  if (subprocess.stdio === void 0) {
    return handleEarlyError({
      error: once9(subprocess, "error").then(([error]) => error),
      command,
      escapedCommand,
      fileDescriptors,
      options,
      startTime,
      verboseInfo
    });
  }
  const controller = new AbortController();
  setMaxListeners(Infinity, controller.signal);
  const originalStreams = [...subprocess.stdio];
  pipeOutputAsync(subprocess, fileDescriptors, controller);
  setIpcSubprocessOptions(subprocess, options);
  const context = {};
  const onInternalError = createDeferred();
  const kill = subprocessKill.bind(void 0, {
    kill: getKillFunction(subprocess, options),
    options,
    onInternalError,
    context,
    controller
  });
  cleanupOnExit(kill, options, controller);
  const all = makeAllStream(subprocess, options);
  const promise = handlePromise({
    subprocess,
    kill,
    all,
    options,
    startTime,
    verboseInfo,
    fileDescriptors,
    originalStreams,
    command,
    escapedCommand,
    context,
    onInternalError,
    controller
  });
  return {
    subprocess,
    promise,
    kill,
    all
  };
};
var getSubprocessPromise = ({ promise, nodeChildProcess, kill, all, convertedStreams, options }) => {
  const subprocess = mergePromise(promise, getSubprocessProperties(nodeChildProcess, all));
  subprocess.kill = kill ?? subprocess.kill;
  if (convertedStreams === void 0) {
    addConvertedStreams(subprocess, options);
  } else {
    Object.assign(subprocess, convertedStreams);
  }
  addIpcMethods(subprocess, nodeChildProcess, options);
  return subprocess;
};
var getSubprocessProperties = (nodeChildProcess, all) => ({
  nodeChildProcess,
  pid: nodeChildProcess.pid,
  stdin: nodeChildProcess.stdin,
  stdout: nodeChildProcess.stdout,
  stderr: nodeChildProcess.stderr,
  stdio: nodeChildProcess.stdio,
  all,
  kill: nodeChildProcess.kill.bind(nodeChildProcess)
});
var handlePromise = async ({ subprocess, kill, all: allStream, options, startTime, verboseInfo, fileDescriptors, originalStreams, command, escapedCommand, context, onInternalError, controller }) => {
  const [
    errorInfo,
    [exitCode, signal],
    stdioResults,
    allResult,
    ipcOutput
  ] = await waitForSubprocessResult({
    subprocess,
    kill,
    all: allStream,
    options,
    context,
    verboseInfo,
    fileDescriptors,
    originalStreams,
    onInternalError,
    controller
  });
  controller.abort();
  onInternalError.resolve();
  const stdio = stdioResults.map((stdioResult, fdNumber) => stripNewline(stdioResult, options, fdNumber));
  const all = stripNewline(allResult, options, "all", getAllFds(subprocess, options.buffer));
  const result = getAsyncResult({
    errorInfo,
    exitCode,
    signal,
    stdio,
    all,
    ipcOutput,
    context,
    options,
    command,
    escapedCommand,
    startTime
  });
  return handleResult(result, verboseInfo, options);
};
var getAsyncResult = ({ errorInfo, exitCode, signal, stdio, all, ipcOutput, context, options, command, escapedCommand, startTime }) => Object.hasOwn(errorInfo, "error") ? makeError({
  error: errorInfo.error,
  command,
  escapedCommand,
  timedOut: context.terminationReason === "timeout",
  isCanceled: context.terminationReason === "cancel" || context.terminationReason === "gracefulCancel",
  isGracefullyCanceled: context.terminationReason === "gracefulCancel",
  isMaxBuffer: errorInfo.error instanceof MaxBufferError,
  isForcefullyTerminated: context.isForcefullyTerminated,
  exitCode,
  signal,
  stdio,
  all,
  ipcOutput,
  options,
  startTime,
  isSync: false
}) : makeSuccessResult({
  command,
  escapedCommand,
  stdio,
  all,
  ipcOutput,
  options,
  startTime
});

// node_modules/execa/lib/methods/bind.js
var mergeOptions = (boundOptions, options) => {
  const safeBoundOptions = { __proto__: null, ...boundOptions };
  const mergedOptions = Object.fromEntries(Object.entries(options).map(([optionName, optionValue]) => [
    optionName,
    mergeOption(optionName, safeBoundOptions[optionName], optionValue)
  ]));
  return { __proto__: null, ...safeBoundOptions, ...mergedOptions };
};
var mergeOption = (optionName, boundOptionValue, optionValue) => DEEP_OPTIONS.has(optionName) && isPlainObject(boundOptionValue) && isPlainObject(optionValue) ? { ...boundOptionValue, ...optionValue } : optionValue;
var DEEP_OPTIONS = /* @__PURE__ */ new Set(["env", ...FD_SPECIFIC_OPTIONS]);

// node_modules/execa/lib/methods/create.js
var createExeca = (mapArguments, boundOptions, deepOptions, setBoundExeca) => {
  const createNested = (mapArguments2, boundOptions2, setBoundExeca2) => createExeca(mapArguments2, boundOptions2, deepOptions, setBoundExeca2);
  const boundExeca = (...execaArguments) => callBoundExeca({
    mapArguments,
    deepOptions,
    boundOptions,
    setBoundExeca,
    createNested
  }, ...execaArguments);
  if (setBoundExeca !== void 0) {
    setBoundExeca(boundExeca, createNested, boundOptions);
  }
  return boundExeca;
};
var callBoundExeca = ({ mapArguments, deepOptions = {}, boundOptions = {}, setBoundExeca, createNested }, firstArgument, ...nextArguments) => {
  if (isPlainObject(firstArgument)) {
    return createNested(mapArguments, mergeOptions(boundOptions, firstArgument), setBoundExeca);
  }
  const { file, commandArguments, options, isSync } = parseArguments({
    mapArguments,
    firstArgument,
    nextArguments,
    deepOptions,
    boundOptions
  });
  return isSync ? execaCoreSync(file, commandArguments, options) : execaCoreAsync(file, commandArguments, options, createNested);
};
var parseArguments = ({ mapArguments, firstArgument, nextArguments, deepOptions, boundOptions }) => {
  const callArguments = isTemplateString(firstArgument) ? parseTemplates(firstArgument, nextArguments) : [firstArgument, ...nextArguments];
  const [initialFile, initialArguments, initialOptions] = normalizeParameters(...callArguments);
  const mergedOptions = mergeOptions(mergeOptions(deepOptions, boundOptions), initialOptions);
  for (const [optionName, optionValue] of Object.entries(deepOptions)) {
    if (mergedOptions[optionName] === void 0) {
      mergedOptions[optionName] = optionValue;
    }
  }
  const {
    options = mergedOptions,
    isSync = false
  } = { __proto__: null, ...mapArguments({ options: mergedOptions }) };
  return {
    file: initialFile,
    commandArguments: initialArguments,
    options,
    isSync
  };
};

// node_modules/execa/lib/methods/script.js
var setScriptSync = (boundExeca, createNested, boundOptions) => {
  boundExeca.sync = createNested(mapScriptSync, boundOptions);
  boundExeca.s = boundExeca.sync;
};
var mapScriptAsync = ({ options }) => getScriptOptions(options);
var mapScriptSync = ({ options }) => ({ ...getScriptOptions(options), isSync: true });
var getScriptOptions = (options) => ({ options: { __proto__: null, ...options, ...getScriptStdinOption(options) } });
var getScriptStdinOption = ({ stdin = "inherit", input, inputFile, stdio }) => input === void 0 && inputFile === void 0 && stdio === void 0 ? { stdin } : {};
var deepScriptOptions = { preferLocal: true };

// node_modules/execa/index.js
var execa = createExeca(() => ({}));
var execaSync = createExeca(() => ({ isSync: true }));
var execaNode = createExeca(mapNode);
var $ = createExeca(mapScriptAsync, {}, deepScriptOptions, setScriptSync);
var {
  sendMessage: sendMessage2,
  getOneMessage: getOneMessage2,
  getEachMessage: getEachMessage2,
  getCancelSignal: getCancelSignal2
} = getIpcExport();

// src/qemu/accel.ts
var PROBE_CODE = 49;
var PROBE_EXIT = PROBE_CODE << 1 | 1;
var ENTRY_OFFSET = 32;
var EXIT_CODE = [
  176,
  PROBE_CODE,
  // mov al, PROBE_CODE
  230,
  244,
  // out 0xf4, al
  244,
  // hlt
  235,
  253
  // jmp back to hlt
];
function probeKernel() {
  const load2 = 1048576;
  const entryOffset = ENTRY_OFFSET;
  const magic = 464367618;
  const flags = 65536;
  const hdr = Buffer.alloc(entryOffset);
  hdr.writeUInt32LE(magic, 0);
  hdr.writeUInt32LE(flags, 4);
  hdr.writeUInt32LE(-(magic + flags) >>> 0, 8);
  hdr.writeUInt32LE(load2, 12);
  hdr.writeUInt32LE(load2, 16);
  hdr.writeUInt32LE(0, 20);
  hdr.writeUInt32LE(0, 24);
  hdr.writeUInt32LE(load2 + entryOffset, 28);
  const code2 = Buffer.from([
    219,
    227,
    // fninit
    217,
    232,
    // fld1
    221,
    216,
    // fstp st(0)
    15,
    32,
    224,
    // mov eax, cr4
    13,
    0,
    6,
    0,
    0,
    // or eax, 0x600 (OSFXSR | OSXMMEXCPT)
    15,
    34,
    224,
    // mov cr4, eax
    15,
    87,
    192,
    // xorps xmm0, xmm0
    ...EXIT_CODE
  ]);
  const img = Buffer.alloc(512);
  hdr.copy(img, 0);
  code2.copy(img, entryOffset);
  return img;
}
function speedKernel(rounds = SPEED_ROUNDS) {
  const img = probeKernel();
  const code2 = Buffer.from([
    185,
    ...u32(rounds),
    // mov ecx, rounds
    // outer:
    190,
    ...u32(2097152),
    // mov esi, 2 MiB
    186,
    ...u32(4096),
    // mov edx, 4096 pages
    // inner:
    1,
    14,
    // add [esi], ecx
    129,
    198,
    ...u32(4096),
    // add esi, 4096
    74,
    // dec edx
    117,
    245,
    // jnz inner
    73,
    // dec ecx
    117,
    232,
    // jnz outer
    ...EXIT_CODE
  ]);
  code2.copy(img, ENTRY_OFFSET);
  return img;
}
function u32(n2) {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n2 >>> 0);
  return [...b];
}
var SPEED_ROUNDS = 1e3;
var SPEED_REFERENCE_MS = 675;
var measured;
async function measureSpeed(qemu, runs = 2) {
  if (measured) return measured;
  const dir = mkdtempSync2(path13.join(os2.tmpdir(), "nixos-rehearse-speed-"));
  try {
    const timed = async (file) => {
      const t0 = performance.now();
      const r = await execa(qemu, probeArgv("tcg", file), { reject: false, timeout: 12e4, stdin: "ignore" });
      if (r.exitCode !== PROBE_EXIT) throw new Error(`the TCG speed probe exited with ${r.exitCode ?? r.signal}: ${String(r.stderr).split("\n")[0]}`);
      return performance.now() - t0;
    };
    const empty = path13.join(dir, "empty.bin");
    const work = path13.join(dir, "speed.bin");
    writeFileSync4(empty, probeKernel());
    writeFileSync4(work, speedKernel());
    let best = Infinity;
    for (let i2 = 0; i2 < runs; i2++) best = Math.min(best, await timed(work) - await timed(empty));
    const probeMs = Math.max(1, Math.round(best));
    measured = { factor: Math.round(probeMs / SPEED_REFERENCE_MS * 100) / 100, probeMs, referenceMs: SPEED_REFERENCE_MS };
    return measured;
  } finally {
    rmSync2(dir, { recursive: true, force: true });
  }
}
function probeArgv(accel, kernelPath) {
  return [
    "-machine",
    `pc,accel=${accel}`,
    "-cpu",
    accel === "kvm" ? "host" : "max",
    "-m",
    "32M",
    "-nodefaults",
    "-no-user-config",
    "-display",
    "none",
    "-no-reboot",
    "-device",
    "isa-debug-exit,iobase=0xf4,iosize=0x04",
    "-kernel",
    kernelPath
  ];
}
async function probeGuest(qemu, accel, timeoutMs = 2e4) {
  const dir = mkdtempSync2(path13.join(os2.tmpdir(), "nixos-rehearse-probe-"));
  try {
    const k = path13.join(dir, "probe.bin");
    writeFileSync4(k, probeKernel());
    const r = await execa(qemu, probeArgv(accel, k), { reject: false, timeout: timeoutMs, all: true, stdin: "ignore" });
    if (r.exitCode === PROBE_EXIT) return void 0;
    const out2 = (r.all ?? "").trim();
    const first = out2.split("\n").find((l) => /error|fail|denied|not|unsupported/i.test(l)) ?? out2.split("\n")[0] ?? "";
    if (r.timedOut) return `the ${accel} probe guest did not finish in ${timeoutMs / 1e3}s${first ? `: ${first}` : ""}`;
    return `the ${accel} probe guest exited with ${r.exitCode ?? r.signal}${first ? `: ${first}` : ""}`;
  } finally {
    rmSync2(dir, { recursive: true, force: true });
  }
}
async function probeKvm(qemu, devKvm = "/dev/kvm") {
  try {
    accessSync(devKvm, constants4.R_OK | constants4.W_OK);
  } catch (e) {
    const code2 = e.code;
    return {
      usable: false,
      reason: code2 === "ENOENT" ? `${devKvm} does not exist (no hardware virtualisation, or the kvm module is not loaded)` : `${devKvm} is not read-writable by this user (${code2}): add the user to group kvm`
    };
  }
  const why = await probeGuest(qemu, "kvm");
  return why ? { usable: false, reason: `${devKvm} opens, but ${why}` } : { usable: true, reason: "a probe guest ran under KVM" };
}
async function chooseAccel(qemu, requested = "auto") {
  const tcg = async (reason, kvm2) => {
    const speed = await measureSpeed(qemu);
    return { accel: "tcg", reason, kvm: kvm2, speed, timeoutScale: timeoutScale("tcg") };
  };
  if (requested === "tcg") return tcg("TCG was asked for", { usable: false, reason: "not probed: TCG was asked for" });
  const kvm = await probeKvm(qemu);
  if (kvm.usable) return { accel: "kvm", reason: kvm.reason, kvm, timeoutScale: timeoutScale("kvm") };
  if (requested === "kvm") throw new Error(`KVM was asked for but is not usable: ${kvm.reason}`);
  return tcg(`no KVM: ${kvm.reason}; using TCG (software emulation, timeouts scaled)`, kvm);
}
function timeoutScale(accel, env = process.env, speed = measured) {
  const v = env.NIXOS_REHEARSE_TIMEOUT_SCALE;
  if (v !== void 0 && v !== "") {
    const n2 = Number(v);
    if (!(n2 > 0)) throw new Error(`NIXOS_REHEARSE_TIMEOUT_SCALE must be a positive number, got ${JSON.stringify(v)}`);
    return n2;
  }
  if (accel === "kvm") return 1;
  return Math.round(5 * Math.max(1, speed?.factor ?? 1) * 10) / 10;
}

// src/qemu/firmware.ts
import { statSync as statSync2 } from "node:fs";
import path14 from "node:path";
function firmwareCandidates(env = process.env, qemuShareDirs = []) {
  const c3 = [];
  if (env.NIXOS_REHEARSE_OVMF_CODE && env.NIXOS_REHEARSE_OVMF_VARS) {
    c3.push({ code: env.NIXOS_REHEARSE_OVMF_CODE, vars: env.NIXOS_REHEARSE_OVMF_VARS, source: "NIXOS_REHEARSE_OVMF_CODE/_VARS" });
  }
  for (const v of ["OVMF", "OVMF_FD"]) {
    const dir = env[v];
    if (dir) c3.push({ code: path14.join(dir, "FV/OVMF_CODE.fd"), vars: path14.join(dir, "FV/OVMF_VARS.fd"), source: `$${v} (Nix)` });
  }
  c3.push(
    // Debian 12+, Ubuntu 22.04+ (package ovmf)
    { code: "/usr/share/OVMF/OVMF_CODE_4M.fd", vars: "/usr/share/OVMF/OVMF_VARS_4M.fd", source: "Debian/Ubuntu ovmf (4M)" },
    // Fedora, RHEL (package edk2-ovmf)
    { code: "/usr/share/edk2/ovmf/OVMF_CODE.fd", vars: "/usr/share/edk2/ovmf/OVMF_VARS.fd", source: "Fedora edk2-ovmf" },
    // Arch (package edk2-ovmf)
    { code: "/usr/share/edk2/x64/OVMF_CODE.4m.fd", vars: "/usr/share/edk2/x64/OVMF_VARS.4m.fd", source: "Arch edk2-ovmf (4m)" },
    { code: "/usr/share/edk2-ovmf/x64/OVMF_CODE.fd", vars: "/usr/share/edk2-ovmf/x64/OVMF_VARS.fd", source: "Arch edk2-ovmf (old layout)" },
    // openSUSE (package qemu-ovmf-x86_64)
    { code: "/usr/share/qemu/ovmf-x86_64-4m-code.bin", vars: "/usr/share/qemu/ovmf-x86_64-4m-vars.bin", source: "openSUSE qemu-ovmf-x86_64 (4m)" },
    // NixOS system profile with pkgs.OVMF.fd in environment.systemPackages
    { code: "/run/current-system/sw/FV/OVMF_CODE.fd", vars: "/run/current-system/sw/FV/OVMF_VARS.fd", source: "NixOS system profile" },
    // Debian/Ubuntu 2 MB build (older releases only have this one)
    { code: "/usr/share/OVMF/OVMF_CODE.fd", vars: "/usr/share/OVMF/OVMF_VARS.fd", source: "Debian/Ubuntu ovmf (2M)" }
  );
  for (const d of qemuShareDirs) {
    c3.push({ code: path14.join(d, "edk2-x86_64-code.fd"), vars: path14.join(d, "edk2-i386-vars.fd"), source: `QEMU's edk2 (${d})` });
  }
  return c3;
}
function classifyPair(codeSize, varsSize) {
  const codeClass = codeSize > 2 * 1024 * 1024 ? "4m" : "2m";
  const varsClass = varsSize >= 512 * 1024 ? "4m" : "2m";
  if (codeClass !== varsClass) {
    return { error: `code is a ${codeClass.toUpperCase()} build but vars is a ${varsClass.toUpperCase()} build (${codeSize} / ${varsSize} bytes): boot entries would be lost` };
  }
  return { flash: codeClass };
}
var FirmwareNotFoundError = class extends RehearseError {
  constructor(looked) {
    super(
      "host-not-ready",
      `OVMF UEFI firmware not found. Looked for (code + vars):
  ${looked.join("\n  ")}
Install it: Debian/Ubuntu: sudo apt-get install ovmf | Fedora: sudo dnf install edk2-ovmf | Arch: sudo pacman -S edk2-ovmf | Nix: nix shell nixpkgs#OVMF.fd (and export OVMF=<its path>)
or point NIXOS_REHEARSE_OVMF_CODE and NIXOS_REHEARSE_OVMF_VARS at the files.`,
      { tool: "OVMF", looked }
    );
    this.looked = looked;
    this.name = "FirmwareNotFoundError";
  }
  looked;
};
var realSize = (p) => {
  try {
    const s = statSync2(p);
    return s.isFile() ? s.size : void 0;
  } catch {
    return void 0;
  }
};
function findFirmware(candidates = firmwareCandidates(), sizeOf = realSize) {
  const looked = [];
  for (const c3 of candidates) {
    const cs = sizeOf(c3.code);
    const vs = sizeOf(c3.vars);
    if (cs === void 0 || vs === void 0) {
      looked.push(`${c3.code} + ${c3.vars} [${c3.source}]: ${cs === void 0 ? "no code file" : "no vars file"}`);
      continue;
    }
    const k = classifyPair(cs, vs);
    if ("error" in k) {
      looked.push(`${c3.code} + ${c3.vars} [${c3.source}]: ${k.error}`);
      continue;
    }
    return { code: c3.code, vars: c3.vars, flash: k.flash, source: c3.source };
  }
  throw new FirmwareNotFoundError(looked);
}

// vm/host.mjs
import { accessSync as accessSync2, constants as constants5, statSync as statSync3 } from "node:fs";
import os3 from "node:os";
import path15 from "node:path";
function cacheDir(env = process.env, { runner = false } = {}) {
  const base = runner && env.RUNNER_TOOL_CACHE || env.XDG_CACHE_HOME || path15.join(env.HOME || os3.homedir(), ".cache");
  return path15.join(base, "nixos-rehearse");
}
function executable(file) {
  try {
    accessSync2(file, constants5.X_OK);
    return statSync3(file).isFile();
  } catch {
    return false;
  }
}
function commandPath(cmd, env = process.env) {
  if (cmd.includes("/")) return executable(cmd) ? path15.resolve(cmd) : void 0;
  for (const dir of (env.PATH ?? "").split(path15.delimiter)) {
    const file = path15.join(dir || ".", cmd);
    if (executable(file)) return file;
  }
  return void 0;
}

// src/qemu/tools.ts
function qemuBinary(env = process.env) {
  return env.NIXOS_REHEARSE_QEMU || "qemu-system-x86_64";
}
function qemuImgBinary(env = process.env) {
  return env.NIXOS_REHEARSE_QEMU_IMG || "qemu-img";
}
function parseQemuVersion(out2) {
  return /version\s+(\d+\.\d+(?:\.\d+)?)/.exec(out2)?.[1];
}
async function toolVersion(bin) {
  try {
    const r = await execa(bin, ["--version"], { reject: false, timeout: 1e4 });
    const v = parseQemuVersion(r.stdout);
    if (r.exitCode !== 0 || !v) return { ok: false, error: `${bin} --version failed: ${(r.stderr || r.stdout).trim()}` };
    return { ok: true, version: v, path: commandPath(bin) ?? bin };
  } catch (e) {
    return { ok: false, error: `${bin}: ${e.message.split("\n")[0]}` };
  }
}
var INSTALL_HINT = "Debian/Ubuntu: sudo apt-get install qemu-system-x86 qemu-utils ovmf | Fedora: sudo dnf install qemu-system-x86 qemu-img edk2-ovmf | Arch: sudo pacman -S qemu-base edk2-ovmf | Nix: nix shell nixpkgs#qemu";
var pdeathsig;
function withParentDeathSignal(bin, args) {
  pdeathsig ??= execaSync("setpriv", ["--pdeathsig", "SIGKILL", "--", "true"], { stdio: "ignore", reject: false }).exitCode === 0;
  return pdeathsig ? ["setpriv", ["--pdeathsig", "SIGKILL", "--", bin, ...args]] : [bin, args];
}

// src/doctor.ts
var HOST_TOOLS = ["xorriso", "ssh-keygen", "ssh"];
async function doctor(requested = "auto") {
  const problems = [];
  const [q, qi] = await Promise.all([toolVersion(qemuBinary()), toolVersion(qemuImgBinary())]);
  const qemu = q.ok ? { path: q.path, version: q.version } : { error: q.error };
  const qemuImg = qi.ok ? { path: qi.path, version: qi.version } : { error: qi.error };
  if (!q.ok) problems.push(`QEMU not usable: ${q.error}`);
  if (!qi.ok) problems.push(`qemu-img not usable: ${qi.error}`);
  let firmware;
  try {
    firmware = findFirmware();
  } catch (e) {
    firmware = { error: e.message };
    problems.push("OVMF UEFI firmware not found");
  }
  const tools = {};
  for (const t of HOST_TOOLS) {
    tools[t] = commandPath(t) ?? null;
  }
  const missing = HOST_TOOLS.filter((t) => !tools[t]);
  if (missing.length) problems.push(`missing: ${missing.join(", ")} (Debian/Ubuntu: sudo apt-get install xorriso openssh-client)`);
  const report = { ok: false, qemu, qemuImg, firmware, tools, problems };
  if (q.ok) {
    try {
      const d = await chooseAccel(qemuBinary(), requested);
      report.accel = d.accel;
      report.accelReason = d.reason;
      report.kvm = d.kvm;
      report.timeoutScale = d.timeoutScale;
      if (d.speed) report.speed = d.speed;
    } catch (e) {
      problems.push(e.message);
    }
  }
  report.ok = problems.length === 0;
  if (!report.ok) report.fix = missing.length && problems.length === 1 ? "sudo apt-get install xorriso openssh-client" : INSTALL_HINT;
  return report;
}
function renderDoctor(r) {
  const line = (ok, what, detail) => `${ok ? "ok  " : "FAIL"}  ${what.padEnd(10)} ${detail}`;
  const out2 = [
    line(!r.qemu.error, "qemu", r.qemu.error ?? `${r.qemu.version} (${r.qemu.path})`),
    line(!r.qemuImg.error, "qemu-img", r.qemuImg.error ?? `${r.qemuImg.version} (${r.qemuImg.path})`),
    line(!r.firmware.error, "firmware", r.firmware.error ?? `${r.firmware.code} + ${r.firmware.vars} [${r.firmware.source}, ${r.firmware.flash}]`)
  ];
  for (const [t, where] of Object.entries(r.tools ?? {})) out2.push(line(!!where, t, where ?? "not found"));
  if (r.accel) {
    out2.push(line(true, "accel", `${r.accel}: ${r.accelReason}`));
    if (r.speed) out2.push(line(true, "speed", `TCG speed factor ${r.speed.factor} (the speed probe took ${r.speed.probeMs} ms, ${r.speed.referenceMs} ms on the reference machine)`));
    if (r.accel === "tcg") out2.push(`      ${"".padEnd(10)} every timeout is scaled by ${r.timeoutScale} (5 \xD7 the speed factor when above 1; NIXOS_REHEARSE_TIMEOUT_SCALE overrides)`);
  }
  if (r.fix) out2.push("", `fix: ${r.fix}`);
  return out2.join("\n");
}

// src/demo.ts
import path18 from "node:path";

// src/guest.ts
var GUEST_PROMPT = /\]# $/m;
function testGuestOptions(guest, name, accel, diskSize2 = "1G") {
  return {
    name,
    accel,
    timeoutScale: timeoutScale(accel),
    memoryMiB: 512,
    disks: [
      { id: "disk0", serial: "REHEARSE0", size: diskSize2 },
      { id: "disk1", serial: "REHEARSE1", size: diskSize2 }
    ],
    kernelBoot: { kernel: guest.kernel, initrd: guest.initrd, append: guest.cmdline }
  };
}
async function buildTestGuest(log = () => {
}) {
  const url = new URL("../vm/build-test-guest.mjs", import.meta.url).href;
  const mod = await import(url);
  return mod.buildTestGuest({ log });
}

// src/qemu/machine.ts
import { randomBytes as randomBytes2 } from "node:crypto";
import { copyFileSync, existsSync as existsSync2, mkdirSync, mkdtempSync as mkdtempSync3, readFileSync as readFileSync5, rmSync as rmSync3 } from "node:fs";
import net2 from "node:net";
import os4 from "node:os";
import path17 from "node:path";
import { setTimeout as sleep2 } from "node:timers/promises";

// src/cleanup.ts
var live = /* @__PURE__ */ new Set();
var installed = false;
function register(r) {
  install();
  live.add(r);
  return () => live.delete(r);
}
async function teardownAll() {
  const all = [...live];
  live.clear();
  await Promise.allSettled(
    all.map(
      (r) => (
        // Bounded: a teardown that hangs gets the synchronous one after 5 s.
        Promise.race([r.teardown(), new Promise((res) => setTimeout(res, 5e3))]).finally(() => r.teardownSync())
      )
    )
  );
}
function install() {
  if (installed) return;
  installed = true;
  for (const [sig, code2] of [
    ["SIGINT", 130],
    ["SIGTERM", 143],
    ["SIGHUP", 129]
  ]) {
    let seen2 = false;
    process.on(sig, () => {
      if (seen2) process.exit(code2);
      seen2 = true;
      if (live.size) process.stderr.write(`nixos-rehearse: ${sig}: tearing down ${[...live].map((r) => r.describe).join(", ")}
`);
      void teardownAll().finally(() => process.exit(code2));
    });
  }
  process.once("exit", () => {
    for (const r of live) {
      try {
        r.teardownSync();
      } catch {
      }
    }
  });
}

// src/unix-socket.ts
import net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
async function connectUnix(path33, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (; ; ) {
    try {
      return await new Promise((resolve, reject) => {
        const s = net.createConnection(path33);
        s.once("connect", () => resolve(s));
        s.once("error", reject);
      });
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`cannot connect to ${what} at ${path33}: ${e.message}`);
      await sleep(50);
    }
  }
}

// src/console/console.ts
import { StringDecoder as StringDecoder4 } from "node:string_decoder";

// src/console/text.ts
import { StringDecoder as StringDecoder3 } from "node:string_decoder";

// node_modules/ansi-regex/index.js
var ST = String.raw`(?:\u001B\u005C|\u009C)`;
var stringControls = String.raw`\u0018\u001A\u001B\u0080-\u009F`;
var osc = String.raw`(?:\u001B\]|\u009D)[^\u0007${stringControls}]*(?:\u0007|${ST})`;
var controlString = String.raw`(?:\u001B[PX^_k]|[\u0090\u0098\u009E\u009F])[^${stringControls}]*${ST}`;
var linuxPalette = String.raw`\u001B\](?:P[\dA-Fa-f]{7}|R)(?:\u0007|${ST})?`;
var csi = String.raw`(?:\u001B\[|\u009B)[\u0030-\u003F]*[\u0020-\u002F]*[\u0040-\u007E]`;
var escape = String.raw`\u001B(?:[\u0020-\u002F]+[\u0030-\u007E]|[\dA-PR-TZcf-oq-uy=><~|}])`;
var pattern = `${linuxPalette}|${osc}|${controlString}|${csi}|${escape}`;
function ansiRegex({ onlyFirst = false } = {}) {
  return new RegExp(pattern, onlyFirst ? void 0 : "g");
}

// node_modules/strip-ansi/index.js
var regex = ansiRegex();
function stripAnsi(string) {
  if (typeof string !== "string") {
    throw new TypeError(`Expected a \`string\`, got \`${typeof string}\``);
  }
  if (!string.includes("\x1B") && !string.includes("\x9B")) {
    return string;
  }
  return string.replace(regex, "");
}

// src/console/text.ts
var INCOMPLETE_TAIL = /\x1b(?:\[[0-?]*[ -/]*|\][^\x07\x1b]*\x1b?|[ -/]*)?$/;
var ConsoleText = class {
  decoder = new StringDecoder3("utf8");
  pending = "";
  /** Feeds raw bytes; returns the clean text that is now certain (nothing held back is lost). */
  push(chunk) {
    const s = this.pending + (typeof chunk === "string" ? chunk : this.decoder.write(chunk));
    const tail2 = INCOMPLETE_TAIL.exec(s);
    const cut = tail2 && s.length - tail2.index <= 64 ? tail2.index : s.length;
    this.pending = s.slice(cut);
    return clean(s.slice(0, cut));
  }
  /** Flushes whatever is held back (end of stream). */
  end() {
    const s = this.pending + this.decoder.end();
    this.pending = "";
    return clean(s);
  }
};
function clean(s) {
  return stripAnsi(s).replace(/[\r\x07\x00]/g, "");
}
function parseKeyValue(out2) {
  const r = {};
  for (const line of out2.split("\n")) {
    const i2 = line.indexOf("=");
    if (i2 > 0) r[line.slice(0, i2).trim()] = line.slice(i2 + 1).trim();
  }
  return r;
}

// src/console/transcript.ts
import { createWriteStream as createWriteStream2 } from "node:fs";
var TRANSCRIPT_HEAD_BYTES = 32 * 1024 * 1024;
var TRANSCRIPT_TAIL_BYTES = 8 * 1024 * 1024;
var Transcript = class {
  /**
   * `note(bytes)` is what marks the gap; `align` cuts the kept tail to start after its first
   * newline (line-based files: the log, the asciinema recording).
   */
  constructor(path33, note, opts = {}) {
    this.path = path33;
    this.note = note;
    this.opts = opts;
    this.stream = createWriteStream2(path33);
    this.stream.on("error", (e) => {
      this.error ??= e;
    });
  }
  path;
  note;
  opts;
  stream;
  written = 0;
  tail = [];
  tailSize = 0;
  left = 0;
  closed = false;
  /** The first write error, if any: the transcript stopped there. */
  error;
  write(data2) {
    if (this.closed || this.error) return;
    const b = typeof data2 === "string" ? Buffer.from(data2) : data2;
    if (this.tailSize === 0 && this.written + b.length <= (this.opts.headBytes ?? TRANSCRIPT_HEAD_BYTES)) {
      this.written += b.length;
      this.stream.write(b);
      return;
    }
    this.tail.push(b);
    this.tailSize += b.length;
    const max = this.opts.tailBytes ?? TRANSCRIPT_TAIL_BYTES;
    while (this.tail.length > 1 && this.tailSize - this.tail[0].length >= max) {
      this.left += this.tail[0].length;
      this.tailSize -= this.tail[0].length;
      this.tail.shift();
    }
  }
  /** Writes the kept tail (after the note, when something was left out) and closes the file. */
  end() {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    if (!this.error && this.tail.length) {
      let rest = Buffer.concat(this.tail);
      if (this.left > 0) {
        if (this.opts.align) {
          const nl = rest.indexOf(10);
          if (nl >= 0) {
            this.left += nl + 1;
            rest = rest.subarray(nl + 1);
          }
        }
        this.stream.write(this.note(this.left));
      }
      this.stream.write(rest);
    }
    return new Promise((resolve) => this.stream.end(() => resolve()));
  }
};

// src/console/console.ts
var ConsoleTimeoutError = class extends RehearseError {
  constructor(where, tail2) {
    super("console-timeout", `timed out after ${where.seconds.toFixed(1)}s on ${where.console} waiting for ${where.waitingFor}`, { ...where });
    this.where = where;
    this.tail = tail2;
    this.name = "ConsoleTimeoutError";
    this.serialTail = tail2;
  }
  where;
  tail;
  /** The console's last lines for report.error.serialTail (a machine may replace them with its serial console's). */
  serialTail;
};
var ConsoleClosedError = class extends RehearseError {
  constructor(console2, tail2) {
    super("console-closed", `${console2} console closed (QEMU exited?)`, { console: console2 });
    this.console = console2;
    this.tail = tail2;
    this.name = "ConsoleClosedError";
    this.serialTail = tail2;
  }
  console;
  tail;
  serialTail;
};
var REGEX_OVERLAP = 16 * 1024;
var MAX_UNCONSUMED = 16 * 1024 * 1024;
var KEYS = {
  enter: "\r",
  up: "\x1B[A",
  down: "\x1B[B",
  right: "\x1B[C",
  left: "\x1B[D",
  esc: "\x1B",
  tab: "	",
  space: " ",
  backspace: "\x7F",
  "ctrl-c": "",
  "ctrl-d": "",
  home: "\x1B[H",
  end: "\x1B[F",
  f1: "\x1BOP",
  f2: "\x1BOQ",
  f10: "\x1B[21~",
  f12: "\x1B[24~"
};
function keyBytes(keys) {
  return keys.map((k) => {
    if (k.startsWith("text:")) return k.slice(5);
    const b = KEYS[k.toLowerCase()];
    if (b === void 0) throw new Error(`unknown key ${JSON.stringify(k)}; known: ${Object.keys(KEYS).join(", ")}`);
    return b;
  }).join("");
}
var Console = class {
  name;
  socket;
  sink;
  text = new ConsoleText();
  /** Clean text in chunks (absolute offsets in chunkStart): unconsumed text and some history. */
  chunks = [];
  chunkStart = [];
  /** Absolute offset of the end of the text received (= clean characters seen in all). */
  end = 0;
  /** Absolute offset where unconsumed text starts. */
  cursor = 0;
  waiters = /* @__PURE__ */ new Set();
  raw;
  log;
  cast;
  castDecoder = new StringDecoder4("utf8");
  logLineOpen = false;
  t0 = Date.now();
  closed;
  keepBytes;
  constructor(opts) {
    this.name = opts.name;
    this.keepBytes = opts.keepBytes ?? 256 * 1024;
    if (opts.transcriptPath) {
      const gap = (n2) => `
[nixos-rehearse: ${n2} bytes of this console left out of the transcript]
`;
      this.raw = new Transcript(`${opts.transcriptPath}.raw`, gap, opts.transcriptLimits);
      this.log = new Transcript(`${opts.transcriptPath}.log`, gap, { ...opts.transcriptLimits, align: true });
      if (opts.cast) {
        const castGap = (n2) => `${JSON.stringify([Number(((Date.now() - this.t0) / 1e3).toFixed(3)), "o", `\r
[${n2} bytes left out of this recording]\r
`])}
`;
        this.cast = new Transcript(`${opts.transcriptPath}.cast`, castGap, { ...opts.transcriptLimits, align: true });
        this.cast.write(`${JSON.stringify({ version: 2, width: 80, height: 40, timestamp: Math.floor(this.t0 / 1e3), title: opts.name, env: { TERM: "vt100" } })}
`);
      }
    }
  }
  /** Connects to a QEMU chardev socket (retrying while QEMU creates it). */
  async attach(path33, timeoutMs = 1e4) {
    this.socket = await connectUnix(path33, timeoutMs, `${this.name} console`);
    this.socket.on("data", (d) => this.feed(d));
    this.socket.on("error", () => {
    });
    this.socket.on("close", () => this.onClose(new ConsoleClosedError(this.name, this.tail())));
  }
  /** Sends what is written to `sink` instead of a socket (replay tests drive the console by feed()). */
  attachSink(sink) {
    this.sink = sink;
  }
  /**
   * Text this console showed before this attachment (a restored VM's boot, as saved): kept for
   * tail() and the transcript, and already consumed, so that no wait matches it.
   */
  history(text) {
    if (!text) return;
    this.append(text.endsWith("\n") ? text : `${text}
`);
    this.cursor = this.end;
  }
  /** Feeds bytes as if they came from the guest (used by attach, and by replay tests). */
  feed(d) {
    this.raw?.write(d);
    if (this.cast) {
      const text = typeof d === "string" ? d : this.castDecoder.write(d);
      if (text) this.cast.write(`${JSON.stringify([Number(((Date.now() - this.t0) / 1e3).toFixed(3)), "o", text])}
`);
    }
    const s = this.text.push(d);
    if (s) this.append(s);
  }
  append(s) {
    const last = this.chunks.length - 1;
    if (last >= 0 && this.chunks[last].length < 8192) this.chunks[last] += s;
    else {
      this.chunks.push(s);
      this.chunkStart.push(this.end);
    }
    this.end += s.length;
    this.writeLog(s);
    for (const w of [...this.waiters]) w.check();
    if (this.waiters.size === 0 && this.end - this.cursor > MAX_UNCONSUMED) this.cursor = this.end - MAX_UNCONSUMED;
    const keepFrom = this.cursor - this.keepBytes;
    let drop = 0;
    while (drop < this.chunks.length - 1 && this.chunkStart[drop + 1] <= keepFrom) drop++;
    if (drop > 64) {
      this.chunks.splice(0, drop);
      this.chunkStart.splice(0, drop);
    }
  }
  /** Text between absolute offsets [a, b). */
  textBetween(a2, b) {
    if (b <= a2) return "";
    let lo = 0;
    let hi = this.chunks.length - 1;
    while (lo < hi) {
      const mid = lo + hi + 1 >> 1;
      if (this.chunkStart[mid] <= a2) lo = mid;
      else hi = mid - 1;
    }
    const parts = [];
    for (let i2 = lo; i2 < this.chunks.length && this.chunkStart[i2] < b; i2++) {
      const cs = this.chunkStart[i2];
      parts.push(this.chunks[i2].slice(Math.max(0, a2 - cs), b - cs));
    }
    return parts.join("");
  }
  view() {
    const from = this.cursor;
    const to = this.end;
    return {
      length: to - from,
      slice: (start = 0, stop = to - from) => this.textBetween(from + Math.max(0, start), from + Math.min(stop, to - from))
    };
  }
  writeLog(s) {
    if (!this.log) return;
    const stamp = () => `[${((Date.now() - this.t0) / 1e3).toFixed(3).padStart(9)}] `;
    let out2 = "";
    for (const part2 of s.split(/(?<=\n)/)) {
      if (!this.logLineOpen) out2 += stamp();
      out2 += part2;
      this.logLineOpen = !part2.endsWith("\n");
    }
    this.log.write(out2);
  }
  onClose(e) {
    const rest = this.text.end();
    if (rest) this.append(rest);
    this.closed = e;
    for (const w of [...this.waiters]) w.fail(e);
  }
  get isClosed() {
    return this.closed !== void 0;
  }
  /** Waits until `matcher` finds what it wants in the unconsumed text; consumes up to its end. */
  waitUntil(matcher, timeoutMs, what) {
    return new Promise((resolve, reject) => {
      let timer;
      let seenUpTo = 0;
      const waiter = {
        check: () => {
          let m;
          try {
            m = matcher(this.view(), Math.max(0, seenUpTo - this.cursor));
          } catch (e) {
            waiter.fail(e);
            return true;
          }
          seenUpTo = this.end;
          if (!m) return false;
          this.cursor += m.consumed;
          this.waiters.delete(waiter);
          clearTimeout(timer);
          resolve(m.value);
          return true;
        },
        fail: (e) => {
          this.waiters.delete(waiter);
          clearTimeout(timer);
          reject(e);
        }
      };
      if (waiter.check()) return;
      if (this.closed) return reject(this.closed);
      this.waiters.add(waiter);
      timer = setTimeout(
        () => waiter.fail(new ConsoleTimeoutError({ console: this.name, waitingFor: what, seconds: timeoutMs / 1e3 }, this.tail())),
        timeoutMs
      );
    });
  }
  /** Waits for a regular expression in the console's clean text; returns the match. */
  waitFor(re, timeoutMs) {
    const r = new RegExp(re.source, re.flags.replace("g", ""));
    return this.waitUntil(
      (text, seen2) => {
        const from = Math.max(0, seen2 - REGEX_OVERLAP);
        const m = r.exec(text.slice(from));
        return m ? { consumed: from + m.index + m[0].length, value: m } : void 0;
      },
      timeoutMs,
      String(re)
    );
  }
  /**
   * Fails every pending wait with `e`: what they wait for will never come (the guest rebooted
   * under a command whose end marker its shell was about to print).
   */
  abortWaits(e) {
    for (const w of [...this.waiters]) w.fail(e);
  }
  /** Marks everything received so far as seen: a later waitFor only matches new text. */
  skipPending() {
    this.cursor = this.end;
  }
  write(data2) {
    if (this.closed) throw this.closed;
    if (this.sink) return this.sink(data2);
    if (!this.socket) throw new Error(`${this.name} console is not attached`);
    this.socket.write(data2);
  }
  sendKeys(...keys) {
    this.write(keyBytes(keys));
  }
  /** The last `lines` lines of clean text seen. */
  tail(lines = 40) {
    const text = this.textBetween(Math.max(this.chunkStart[0] ?? 0, this.end - 64 * 1024), this.end);
    return text.split("\n").slice(-lines).join("\n");
  }
  async close() {
    this.socket?.destroy();
    await Promise.all([this.raw?.end(), this.log?.end(), this.cast?.end()]);
    this.raw = this.log = this.cast = void 0;
  }
};

// src/console/protocol.ts
import { randomBytes } from "node:crypto";
var MAX_LINE = 900;
var OUTPUT_HEAD = 1024 * 1024;
var OUTPUT_TAIL = 4 * 1024 * 1024;
var MAX_FRAME_CHARS = Math.ceil((OUTPUT_HEAD + OUTPUT_TAIL + 256) * 4 / 3) + 1024 * 1024;
function newNonce() {
  return randomBytes(6).toString("hex");
}
function frameCommand(command, nonce = newNonce()) {
  if (!/^[0-9a-f]{8,}$/.test(nonce)) throw new Error(`nonce must be 8+ lowercase hex chars, got ${nonce}`);
  const half = nonce.length >> 1;
  const a2 = `nr${nonce.slice(0, half)}`;
  const b = `${nonce.slice(half)}x`;
  const tmp = `"\${TMPDIR:-/tmp}"/.nr-${[...nonce].reverse().join("")}`;
  const encoded = Buffer.from(command, "utf8").toString("base64");
  const lines = [];
  const chunks = encoded.match(new RegExp(`.{1,${MAX_LINE - 60}}`, "g")) ?? [""];
  lines.push(`: >${tmp}.b
`);
  for (const c3 of chunks) lines.push(`printf %s ${c3} >>${tmp}.b
`);
  const [h2, t] = [OUTPUT_HEAD, OUTPUT_TAIL];
  lines.push(
    `printf '%s%s\\n' ${a2} ${b}; base64 -d <${tmp}.b >${tmp}.c; sh ${tmp}.c </dev/null >${tmp}.o 2>&1; echo $? >${tmp}.x; n=$(wc -c <${tmp}.o); if [ "$n" -gt ${h2 + t} ]; then head -c ${h2} ${tmp}.o; printf '\\n[%s bytes of output left out]\\n' $((n - ${h2 + t})); tail -c ${t} ${tmp}.o; else cat ${tmp}.o; fi | base64 -w 0; printf '\\n%s:%s%s\\n' "$(cat ${tmp}.x)" ${b} ${a2}; rm -f ${tmp}.b ${tmp}.c ${tmp}.x ${tmp}.o
`
  );
  return { lines, start: `${a2}${b}
`, end: `:${b}${a2}` };
}
function parseFrame(text, frame, hint = {}) {
  const find = (needle, from) => {
    const i2 = text.slice(from).indexOf(needle);
    return i2 < 0 ? -1 : from + i2;
  };
  const s = hint.start ?? find(frame.start, Math.max(0, (hint.from ?? 0) - frame.start.length));
  if (s < 0) return { done: false };
  const bodyStart = s + frame.start.length;
  const e = find(frame.end, Math.max(bodyStart, (hint.from ?? 0) - frame.end.length));
  if (e < 0) {
    if (text.length - bodyStart > MAX_FRAME_CHARS) throw new ProtocolError(`command output frame is larger than ${MAX_FRAME_CHARS} characters, more than the guest side ever sends`, text.slice(bodyStart, bodyStart + 200), "frame-too-large");
    return { done: false, start: s };
  }
  const body = text.slice(bodyStart, e);
  const nl = body.lastIndexOf("\n");
  const b64 = body.slice(0, Math.max(nl, 0)).replace(/\s+/g, "");
  const rc = body.slice(nl + 1).trim();
  if (!/^\d+$/.test(rc)) throw new ProtocolError(`bad exit code ${JSON.stringify(rc)} in command frame`, body, "bad-exit-code");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) {
    throw new ProtocolError("command output frame is corrupt (non-base64 text inside it: console noise?)", body);
  }
  return {
    done: true,
    result: { exitCode: Number(rc), output: Buffer.from(b64, "base64").toString("utf8") },
    consumed: e + frame.end.length
  };
}
var ProtocolError = class extends RehearseError {
  constructor(message, body, problem = "corrupt-frame") {
    super("protocol", message, { problem });
    this.body = body;
    this.name = "ProtocolError";
  }
  body;
};

// src/console/shell.ts
function shortCommand(command, max = 300) {
  if (command.length <= max) return command;
  const keep = Math.floor((max - 40) / 2);
  return `${command.slice(0, keep)} \u2026(${command.length - 2 * keep} characters)\u2026 ${command.slice(-keep)}`;
}
var CommandFailedError = class extends Error {
  constructor(command, result) {
    const tail2 = result.output.split("\n").slice(-30).join("\n");
    super(`command failed with exit code ${result.exitCode}: ${shortCommand(command)}
--- last output ---
${tail2}`);
    this.command = command;
    this.result = result;
    this.name = "CommandFailedError";
  }
  command;
  result;
};
var Shell = class {
  constructor(console2, opts = {}) {
    this.console = console2;
    this.opts = opts;
  }
  console;
  opts;
  queue = Promise.resolve();
  broken;
  /** Runs `command` with `sh` in the guest; never throws for a non-zero exit code. */
  run(command, opts = {}) {
    const p = this.queue.then(() => this.runNow(command, opts.timeoutMs ?? this.opts.timeoutMs ?? 6e4));
    this.queue = p.catch(() => {
    });
    return p;
  }
  /** Runs `command` and returns its output; throws CommandFailedError on a non-zero exit code. */
  async succeed(command, opts = {}) {
    const r = await this.run(command, opts);
    if (r.exitCode !== 0) throw new CommandFailedError(command, r);
    return r.output;
  }
  /** Runs `command` and throws unless it fails (non-zero exit code). */
  async fail(command, opts = {}) {
    const r = await this.run(command, opts);
    if (r.exitCode === 0) throw new Error(`command succeeded but was expected to fail: ${command}
${r.output}`);
    return r.output;
  }
  get isBroken() {
    return this.broken !== void 0;
  }
  async runNow(command, timeoutMs) {
    if (this.broken) throw new Error(`shell on ${this.console.name} is unusable after an earlier error: ${this.broken.message.split("\n")[0]}`);
    this.opts.onCommand?.(command);
    const frame = frameCommand(command, (this.opts.nonce ?? newNonce)());
    let start;
    const done = this.console.waitUntil(
      (text, seen2) => {
        const r = parseFrame(text, frame, { from: seen2, start });
        if (!r.done) {
          start = r.start;
          return void 0;
        }
        return { consumed: r.consumed, value: r.result };
      },
      timeoutMs,
      `the end of: ${shortCommand(command, 160)}`
    );
    done.catch(() => {
    });
    try {
      for (const line of frame.lines) this.console.write(line);
      return await done;
    } catch (e) {
      if (e instanceof ConsoleTimeoutError || kindOf(e) !== "protocol") this.broken = e;
      throw e;
    }
  }
};
async function untilShellAnswers(console2, nonce, timeoutMs, retryMs) {
  const want = new RegExp(`sy${nonce}nc`);
  const deadline = Date.now() + timeoutMs;
  for (; ; ) {
    console2.write(`printf 'sy%snc\\n' ${nonce}
`);
    try {
      await console2.waitFor(want, Math.max(1, Math.min(retryMs, deadline - Date.now())));
      return;
    } catch (e) {
      if (!(e instanceof ConsoleTimeoutError) || Date.now() >= deadline) throw e;
    }
  }
}

// src/qemu/spec.ts
var TCG_CPU_MODEL = "qemu64,+ssse3,+sse4.1,+sse4.2,+popcnt,+bmi1,+adx,+rdrand";
var CONTROL_PORT_NAME = "org.nixos-rehearse.control";
var EGRESS_PROXY = { address: "10.0.2.100", port: 3128, url: "http://10.0.2.100:3128" };
var VM_NIC = { mac: "52:54:00:12:34:56", address: "10.0.2.15", prefixLength: 24, host: "10.0.2.2" };
var DEFAULT_MEMORY_MIB = 4096;

// src/qemu/argv.ts
var ID = /^[A-Za-z][A-Za-z0-9_-]*$/;
function qemuEscape(value) {
  return value.replace(/,/g, ",,");
}
function buildQemuArgv(spec) {
  validate(spec);
  const a2 = [];
  const push = (...xs) => a2.push(...xs);
  push("-name", `${qemuEscape(spec.name)},debug-threads=on`);
  push("-machine", "q35");
  push("-accel", spec.accel === "tcg" && spec.tcgTbSizeMiB ? `tcg,tb-size=${spec.tcgTbSizeMiB}` : spec.accel);
  push("-cpu", spec.cpuModel ?? (spec.accel === "kvm" ? "host" : TCG_CPU_MODEL));
  push("-m", `${spec.memoryMiB}M`, "-smp", String(spec.cpus));
  push("-nodefaults", "-no-user-config", "-display", "none");
  push("-drive", `if=pflash,format=raw,unit=0,readonly=on,file=${qemuEscape(spec.firmware.code)}`);
  push("-drive", `if=pflash,format=raw,unit=1,file=${qemuEscape(spec.firmware.vars)}`);
  spec.disks.forEach((d, i2) => {
    push("-device", `pcie-root-port,id=rp-${d.id},bus=pcie.0,chassis=${i2 + 1}`);
    push("-drive", `if=none,id=${d.id},format=qcow2,discard=unmap,file=${qemuEscape(d.path)}`);
    const boot = d.bootIndex !== void 0 ? `,bootindex=${d.bootIndex}` : "";
    push("-device", `nvme,id=nvme-${d.id},bus=rp-${d.id},serial=${qemuEscape(d.serial)},drive=${d.id}${boot}`);
  });
  for (let i2 = 0; i2 < (spec.hotplugSlots ?? 0); i2++) push("-device", `pcie-root-port,id=rp-hp${i2},bus=pcie.0,chassis=${spec.disks.length + i2 + 1}`);
  if (spec.iso) {
    push("-drive", `if=none,id=cdrom0,media=cdrom,readonly=on,format=raw,file=${qemuEscape(spec.iso.path)}`);
    const boot = spec.iso.bootIndex !== void 0 ? `,bootindex=${spec.iso.bootIndex}` : "";
    push("-device", `ide-cd,id=cd0,drive=cdrom0,bus=ide.0${boot}`);
  }
  if (spec.kernelBoot) {
    push("-kernel", spec.kernelBoot.kernel);
    if (spec.kernelBoot.initrd) push("-initrd", spec.kernelBoot.initrd);
    if (spec.kernelBoot.append) push("-append", spec.kernelBoot.append);
  }
  const fwd = spec.sshHostPort !== void 0 ? `,hostfwd=tcp:127.0.0.1:${spec.sshHostPort}-${VM_NIC.address}:22` : "";
  push("-netdev", `user,id=net0${spec.network === "none" || spec.network === "public" ? ",restrict=on" : ""}${fwd}${egressForward(spec)}`);
  push("-device", `virtio-net-pci,netdev=net0,mac=${VM_NIC.mac},romfile=`);
  push("-chardev", `socket,id=serial0,path=${qemuEscape(spec.sockets.serial)},server=on,wait=off`);
  push("-serial", "chardev:serial0");
  push("-device", "virtio-serial-pci,id=vser0");
  push("-chardev", `socket,id=control,path=${qemuEscape(spec.sockets.control)},server=on,wait=off`);
  push("-device", `virtconsole,chardev=control,name=${CONTROL_PORT_NAME}`);
  push("-qmp", `unix:${qemuEscape(spec.sockets.qmp)},server=on,wait=off`);
  if (spec.noReboot) push("-no-reboot");
  if (spec.startPaused) push("-S");
  if (spec.incoming) push("-incoming", "defer");
  if (spec.extraArgs) push(...spec.extraArgs);
  return a2;
}
function validate(spec) {
  const problems = [];
  if (!Number.isInteger(spec.memoryMiB) || spec.memoryMiB < 128) problems.push(`memory must be at least 128 MiB (got ${spec.memoryMiB})`);
  if (!Number.isInteger(spec.cpus) || spec.cpus < 1 || spec.cpus > 64) problems.push(`cpus must be 1..64 (got ${spec.cpus})`);
  const ids = /* @__PURE__ */ new Set();
  const serials = /* @__PURE__ */ new Set();
  for (const d of spec.disks) {
    if (!ID.test(d.id)) problems.push(`disk id ${JSON.stringify(d.id)} must be letters, digits, '-', '_' and start with a letter`);
    if (ids.has(d.id)) problems.push(`disk id ${d.id} is used twice`);
    ids.add(d.id);
    if (!/^[A-Za-z0-9_-]{1,20}$/.test(d.serial)) problems.push(`disk serial ${JSON.stringify(d.serial)} must be 1-20 of [A-Za-z0-9_-]`);
    if (serials.has(d.serial)) problems.push(`disk serial ${d.serial} is used twice`);
    serials.add(d.serial);
  }
  const idx = [...spec.disks.map((d) => d.bootIndex), spec.iso?.bootIndex].filter((x) => x !== void 0);
  if (new Set(idx).size !== idx.length) problems.push(`bootindex values must be distinct (got ${idx.join(", ")})`);
  const slots = spec.hotplugSlots ?? 0;
  if (!Number.isInteger(slots) || slots < 0 || slots > 16) problems.push(`hotplug slots must be 0..16 (got ${slots})`);
  if (spec.tcgTbSizeMiB !== void 0 && !(Number.isInteger(spec.tcgTbSizeMiB) && spec.tcgTbSizeMiB > 0)) problems.push(`tb-size must be a positive number of MiB (got ${spec.tcgTbSizeMiB})`);
  if (spec.sshHostPort !== void 0 && !(spec.sshHostPort > 0 && spec.sshHostPort < 65536)) problems.push(`ssh host port ${spec.sshHostPort} is not a TCP port`);
  if (problems.length) throw new Error(`invalid machine spec for ${spec.name}:
  - ${problems.join("\n  - ")}`);
}
function egressForward(spec) {
  if (spec.network !== "public") return "";
  if (!spec.egress?.command.length) throw new Error("network public needs the egress relay command");
  const words2 = spec.egress.command.map((w) => `'${w.replaceAll("'", `'\\''`)}'`).join(" ");
  return `,guestfwd=tcp:${EGRESS_PROXY.address}:${EGRESS_PROXY.port}-cmd:${qemuEscape(words2)}`;
}

// src/qemu/disks.ts
import { existsSync, statSync as statSync4 } from "node:fs";
import path16 from "node:path";
function qemuImgCreateArgv(file, size, backing) {
  if (backing) {
    const a2 = ["create", "-q", "-f", "qcow2", "-b", path16.resolve(backing), "-F", "qcow2", file];
    return size ? [...a2, size] : a2;
  }
  if (!size || !/^\d+[KMGT]?$/.test(size)) throw new Error(`disk size ${JSON.stringify(size)} is not like 8G`);
  return ["create", "-q", "-f", "qcow2", file, size];
}
async function createDisk(file, size, backing) {
  if (existsSync(file)) throw new Error(`refusing to overwrite existing ${file}`);
  if (backing && !existsSync(backing)) throw new Error(`backing image ${backing} does not exist`);
  if (backing && !statSync4(backing).isFile()) throw new Error(`backing image ${backing} is not a regular file`);
  await execa(qemuImgBinary(), qemuImgCreateArgv(file, size, backing));
}

// src/qemu/qmp.ts
import { EventEmitter as EventEmitter3 } from "node:events";
var QmpError = class extends Error {
  constructor(command, errorClass, desc) {
    super(`QMP ${command} failed: ${errorClass}: ${desc}`);
    this.command = command;
    this.errorClass = errorClass;
    this.name = "QmpError";
  }
  command;
  errorClass;
};
var QmpClosedError = class extends RehearseError {
  constructor(command) {
    super("qemu-exited", `QMP connection closed during ${command} (QEMU exited)`, { command });
    this.command = command;
  }
  command;
  name = "QmpClosedError";
};
var Qmp = class extends EventEmitter3 {
  socket;
  buf = "";
  nextId = 1;
  pending = /* @__PURE__ */ new Map();
  greeting;
  events = [];
  closed = false;
  async connect(path33, timeoutMs = 1e4) {
    this.socket = await connectUnix(path33, timeoutMs, "QMP");
    const hello = new Promise((r) => this.greeting = r);
    this.socket.setEncoding("utf8");
    this.socket.on("data", (d) => this.onData(d));
    this.socket.on("error", () => {
    });
    this.socket.on("close", () => {
      this.closed = true;
      for (const p of this.pending.values()) p.reject(new QmpClosedError(p.command));
      this.pending.clear();
      this.emit("close");
    });
    await hello;
    await this.execute("qmp_capabilities");
  }
  onData(d) {
    this.buf += d;
    let nl;
    while ((nl = this.buf.indexOf("\n")) >= 0) {
      const line = this.buf.slice(0, nl).trim();
      this.buf = this.buf.slice(nl + 1);
      if (!line) continue;
      let msg;
      try {
        msg = JSON.parse(line);
      } catch {
        continue;
      }
      if ("QMP" in msg) this.greeting?.(msg);
      else if ("event" in msg) {
        const ev = msg;
        this.events.push(ev);
        this.emit("event", ev);
        this.emit(ev.event, ev);
      } else if ("id" in msg) {
        const p = this.pending.get(msg.id);
        if (!p) continue;
        this.pending.delete(msg.id);
        if ("error" in msg) {
          const err = msg.error;
          p.reject(new QmpError(p.command, err.class, err.desc));
        } else p.resolve(msg.return);
      }
    }
  }
  execute(command, args) {
    if (!this.socket || this.closed) return Promise.reject(new Error(`QMP is not connected (${command})`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { command, resolve, reject });
      this.socket.write(`${JSON.stringify({ execute: command, ...args ? { arguments: args } : {}, id })}
`);
    });
  }
  close() {
    this.socket?.destroy();
  }
};

// src/qemu/machine.ts
async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net2.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const a2 = srv.address();
      srv.close(() => resolve(a2.port));
    });
  });
}
var StateLoadError = class extends Error {
  name = "StateLoadError";
};
var Machine = class _Machine {
  name;
  workDir;
  logDir;
  scale;
  spec;
  serial;
  control;
  qmp;
  proc;
  controlShell;
  unregister;
  ownsWorkDir;
  keep;
  resets = 0;
  stopped = false;
  /** A saved state start() loads instead of booting (then the guest's control shell is adopted). */
  restoreFrom;
  /** The saved VM's serial console up to the save: the history tail() and the boot stage read. */
  restoreSerialLog;
  hotplugged = 0;
  exit;
  /** Resolves when QEMU exits, whatever the reason. */
  exited;
  constructor(spec, opts, workDir, owns, logDir) {
    this.spec = spec;
    this.name = opts.name;
    this.workDir = workDir;
    this.ownsWorkDir = owns;
    this.keep = !!opts.keep;
    this.logDir = logDir;
    this.scale = opts.timeoutScale ?? 1;
    this.restoreFrom = opts.restore?.state;
    this.restoreSerialLog = opts.restore?.serialLog;
  }
  /** Prepares the work dir (disks, a private copy of the EFI vars) and builds the spec. */
  static async create(opts) {
    const owns = !opts.workDir;
    const workDir = opts.workDir ?? mkdtempSync3(path17.join(os4.tmpdir(), `nixos-rehearse-${opts.name}-`));
    mkdirSync(workDir, { recursive: true });
    const socketDir = socketDirFor(workDir, os4.tmpdir()) ?? workDir;
    if (socketDir !== workDir) mkdirSync(socketDir, { recursive: true, mode: 448 });
    const logDir = opts.logDir ?? path17.join(os4.tmpdir(), "nixos-rehearse-logs", `${opts.name}-${Date.now()}-${process.pid}`);
    mkdirSync(logDir, { recursive: true });
    const undo = () => {
      if (owns && !opts.keep) rmSync3(workDir, { recursive: true, force: true });
      if (socketDir !== workDir) rmSync3(socketDir, { recursive: true, force: true });
    };
    try {
      const fw = opts.firmware ?? findFirmware();
      const vars = path17.join(workDir, "efivars.fd");
      try {
        copyFileSync(
          opts.restore?.efiVars ?? fw.vars,
          vars,
          opts.restore ? 0 : 1
          /* COPYFILE_EXCL: keep an existing one */
        );
      } catch (e) {
        if (e.code !== "EEXIST") throw e;
      }
      const disks = [];
      for (const d of opts.disks ?? []) {
        const file = path17.join(workDir, `${d.id}.qcow2`);
        await createDisk(file, d.size, d.backing).catch((e) => {
          if (!/refusing to overwrite/.test(String(e))) throw e;
        });
        disks.push({ id: d.id, serial: d.serial, path: file, bootIndex: d.bootIndex });
      }
      const sshHostPort = opts.sshHostPort === "auto" ? await freePort() : opts.sshHostPort;
      const spec = {
        name: opts.name,
        memoryMiB: opts.memoryMiB ?? 1024,
        cpus: opts.cpus ?? 2,
        accel: opts.accel,
        firmware: { code: fw.code, vars },
        disks,
        iso: opts.iso,
        kernelBoot: opts.kernelBoot,
        sshHostPort,
        network: opts.network,
        egress: opts.egress,
        sockets: socketPaths(socketDir),
        noReboot: opts.noReboot,
        startPaused: true,
        hotplugSlots: opts.hotplugSlots,
        incoming: !!opts.restore,
        tcgTbSizeMiB: opts.tcgTbSizeMiB,
        cpuModel: opts.cpuModel
      };
      buildQemuArgv(spec);
      return new _Machine(spec, opts, workDir, owns, logDir);
    } catch (e) {
      undo();
      throw e;
    }
  }
  /** Timeout in ms for something that takes `seconds` under KVM. */
  t(seconds) {
    return Math.round(seconds * 1e3 * this.scale);
  }
  get sshPort() {
    return this.spec.sshHostPort;
  }
  /** The QEMU process id while it runs. */
  /** How QEMU ended (`code 0`, `signal SIGKILL`), or `running`. */
  get exitStatus() {
    if (!this.exit) return this.proc ? "running" : "not started";
    return this.exit.signal ? `signal ${this.exit.signal}` : `code ${this.exit.code}`;
  }
  get pid() {
    return this.isRunning ? this.proc?.pid : void 0;
  }
  get isRunning() {
    return !!this.proc && !this.exit;
  }
  get resetCount() {
    return this.resets;
  }
  /** Starts QEMU paused, attaches QMP and both consoles, then lets the CPU run. */
  async start() {
    if (this.proc) throw new Error(`${this.name} is already started`);
    this.stopped = false;
    this.exit = void 0;
    this.controlShell = void 0;
    mkdirSync(path17.dirname(this.spec.sockets.qmp), { recursive: true, mode: 448 });
    for (const s of Object.values(this.spec.sockets)) rmSync3(s, { force: true });
    const boot = String(Date.now());
    this.openConsoles(boot);
    const qemuLog = path17.join(this.logDir, `qemu-${boot}.log`);
    this.spawn(qemuLog);
    try {
      const died = this.diesAtStart(qemuLog);
      const attach = this.attach();
      attach.catch(() => {
      });
      await Promise.race([attach, died]).catch(async (e) => {
        if (e instanceof RehearseError && e.kind === "qemu-exited" && this.restoreFrom) {
          const cause = await Promise.race([attach.then(() => void 0, (a2) => a2), sleep2(2e3, void 0, { ref: false })]);
          throw cause instanceof StateLoadError ? cause : e;
        }
        if (!(e instanceof QmpClosedError || e instanceof ConsoleClosedError)) throw e;
        const exit = await Promise.race([died.then(() => void 0, (d) => d), sleep2(2e3, void 0, { ref: false })]);
        throw exit ?? e;
      });
    } catch (e) {
      await this.stop();
      throw e;
    }
  }
  /** This boot's serial and control consoles and their transcripts (a restored VM's saved serial log first). */
  openConsoles(boot) {
    this.serial = new Console({ name: `${this.name} serial`, transcriptPath: path17.join(this.logDir, `serial-${boot}`), cast: true });
    this.control = new Console({ name: `${this.name} control`, transcriptPath: path17.join(this.logDir, `control-${boot}`) });
    if (!this.restoreFrom || !this.restoreSerialLog) return;
    let saved = "";
    try {
      saved = readFileSync5(this.restoreSerialLog, "utf8");
    } catch {
    }
    if (saved) this.serial.history(`${saved.trimEnd()}
[nixos-rehearse: the serial console above is the saved VM's, up to its save; restored from ${this.restoreFrom}]
`);
  }
  /** QEMU itself, dying with this process (withParentDeathSignal), its exit watched, its teardown registered. */
  spawn(qemuLog) {
    const [bin, args] = withParentDeathSignal(qemuBinary(), buildQemuArgv(this.spec));
    this.proc = execa(bin, args, { reject: false, cleanup: true, stdin: "ignore", stdout: "ignore", stderr: { file: qemuLog } });
    const proc = this.proc;
    _Machine.running.add(this);
    this.exited = proc.then((r) => {
      this.exit = { code: r.exitCode, signal: r.signal };
      _Machine.running.delete(this);
      return this.exit;
    });
    this.unregister?.();
    this.unregister = register({
      describe: `QEMU ${this.name} (pid ${proc.pid}) in ${this.workDir}`,
      teardown: () => this.stop(),
      teardownSync: () => {
        proc.kill("SIGKILL");
        if (this.ownsWorkDir && !this.keep) rmSync3(this.workDir, { recursive: true, force: true });
        this.removeSocketDir();
      }
    });
  }
  /** Rejects with QEMU's own last words when it exits (only raced against the attach). */
  diesAtStart(qemuLog) {
    const died = this.exited.then((x) => {
      let said = "";
      try {
        said = readFileSync5(qemuLog, "utf8").trim().split("\n").slice(-5).join("\n");
      } catch {
      }
      throw new RehearseError("qemu-exited", `QEMU exited during start (${x.code ?? x.signal}): ${said || "no message"}
(log: ${qemuLog})`, { machine: this.name, during: "start", exit: String(x.code ?? x.signal), qemuSaid: said || void 0, log: qemuLog });
    });
    died.catch(() => {
    });
    return died;
  }
  /** QMP, then (a saved state loaded) both consoles, then the CPU runs; a restored VM's control shell is adopted. */
  async attach() {
    this.qmp = new Qmp();
    await this.qmp.connect(this.spec.sockets.qmp, this.t(10));
    this.qmp.on("RESET", () => {
      this.resets++;
      this.controlShell = void 0;
      this.control.abortWaits(new Error(`${this.name}: the guest rebooted while a command was running on its control console`));
    });
    if (this.restoreFrom) await this.loadState(this.restoreFrom);
    await this.serial.attach(this.spec.sockets.serial);
    await this.control.attach(this.spec.sockets.control);
    await this.qmp.execute("cont");
    if (this.restoreFrom) {
      const shell = new Shell(this.control, { timeoutMs: this.t(300) });
      await shell.succeed("true", { timeoutMs: this.t(60) });
      this.controlShell = shell;
    }
  }
  /**
   * The machines of this process whose QEMU is running: what a phase timeout stops (the work
   * that waits on them then fails at once instead of at its own, longer timeout).
   */
  static running = /* @__PURE__ */ new Set();
  /**
   * Whether the guest can still be talked to. A console that just closed usually means QEMU is
   * exiting: give its exit a moment to land before answering (SIGKILL closes the sockets first).
   */
  async alive(ms = 3e3) {
    if (!this.isRunning) return false;
    if (this.control?.isClosed || this.serial?.isClosed) await Promise.race([this.exited, sleep2(ms, void 0, { ref: false })]);
    return this.isRunning && !this.control?.isClosed;
  }
  /** The last lines the serial console showed (clean text). */
  serialTail(lines = 200) {
    return this.serial?.tail(lines) ?? "";
  }
  /**
   * Saves the running guest's whole state (RAM, CPUs, devices) to `file`, zstd-compressed, and
   * the EFI variable store beside it (`efiVars`), then powers this VM off: what the test
   * driver's and QEMU's migration-to-file do. The guest must not have disks (a state is
   * restored over new, empty disks plugged in after it: hotplugDisk()): QEMU refuses to save a
   * VM with an NVMe controller ("State blocked by non-migratable device …/nvme": qemu/qemu
   * hw/nvme/ctrl.c, nvme_vmstate `.unmigratable = 1`, in every release up to 10.x), so a running
   * installed system, whose root is on NVMe, cannot be saved at all. It must have a control
   * shell running (connect()), which the restored machine adopts. Restore with
   * `Machine.create({ …same devices, restore: { state, efiVars } })`.
   */
  async saveState(file, efiVars) {
    if (!this.isRunning) throw new Error(`${this.name}: cannot save the state of a VM that is not running`);
    if (this.spec.disks.length || this.hotplugged) throw new Error(`${this.name}: a saved state must have no disks (plug them in after restoring it)`);
    if (!this.controlShell || this.controlShell.isBroken) throw new Error(`${this.name}: connect() before saving a state: the restored machine adopts its control shell`);
    rmSync3(file, { force: true });
    await this.shell.succeed("sync");
    await this.qmp.execute("stop");
    copyFileSync(this.spec.firmware.vars, efiVars);
    const part2 = `${file}.part-${process.pid}`;
    await this.qmp.execute("migrate-set-parameters", { "max-bandwidth": 8 * 2 ** 30 });
    await this.qmp.execute("migrate", { uri: `exec:zstd -q -f -1 -T0 -o ${shellQuote(part2)} && mv ${shellQuote(part2)} ${shellQuote(file)}` });
    const deadline = Date.now() + this.t(300);
    for (; ; ) {
      const q = await this.qmp.execute("query-migrate");
      if (q.status === "completed") break;
      if (q.status === "failed" || q.status === "cancelled") throw new Error(`${this.name}: saving the VM state failed: ${q["error-desc"] ?? q.status}`);
      if (Date.now() > deadline) throw new Error(`${this.name}: saving the VM state did not finish within ${Math.round(this.t(300) / 1e3)} s`);
      await sleep2(100);
    }
    while (!existsSync2(file)) {
      if (Date.now() > deadline) throw new Error(`${this.name}: the saved VM state ${file} was not written within ${Math.round(this.t(300) / 1e3)} s`);
      await sleep2(100);
    }
    await this.stop();
  }
  /**
   * Loads a saved state into this (paused, `-incoming defer`) QEMU: QEMU listens on a socket of
   * its work dir and the state, decompressed here, is streamed into it. A damaged file is an
   * error at once (zstd says so), never a QEMU left waiting for the rest of a stream.
   */
  async loadState(file) {
    const sock = path17.join(this.workDir, "incoming.sock");
    rmSync3(sock, { force: true });
    await this.qmp.execute("migrate-incoming", { uri: `unix:${sock}` });
    const conn = await connectUnix(sock, this.t(10), "QEMU incoming migration");
    conn.on("error", () => {
    });
    const z = execa("zstd", ["-q", "-dc", file], { stdin: "ignore", stdout: "pipe", stderr: "pipe", reject: false, buffer: { stdout: false, stderr: true } });
    z.stdout.pipe(conn);
    const r = await z;
    if (r.exitCode !== 0 && r.signal !== "SIGPIPE") {
      conn.destroy();
      throw new StateLoadError(`${this.name}: the saved VM state ${file} is damaged: zstd: ${String(r.stderr).trim() || `exit ${r.exitCode ?? r.signal}`}`);
    }
    await new Promise((resolve) => conn.writableFinished || conn.destroyed ? resolve() : conn.once("finish", () => resolve()).once("close", () => resolve()));
    const deadline = Date.now() + this.t(60);
    for (; ; ) {
      const st = await this.qmp.execute("query-status");
      if (st.status !== "inmigrate") break;
      if (Date.now() > deadline) throw new Error(`${this.name}: loading the saved VM state ${file} did not finish within ${Math.round(this.t(60) / 1e3)} s`);
      await sleep2(100);
    }
    conn.destroy();
  }
  /**
   * Plugs a new NVMe disk (a qcow2 image created here, in the work dir) into the next empty
   * root port, as a restored installer gets this run's disks; resolves once the guest sees it
   * (its serial under /dev/disk/by-id).
   */
  async hotplugDisk(d, seconds = 60) {
    const slot = this.hotplugged;
    if (slot >= (this.spec.hotplugSlots ?? 0)) throw new Error(`${this.name}: no empty hotplug slot left for ${d.id} (${this.spec.hotplugSlots ?? 0} slots)`);
    if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(d.id) || !/^[A-Za-z0-9_-]{1,20}$/.test(d.serial)) throw new Error(`${this.name}: bad disk id or serial ${JSON.stringify(d)}`);
    const file = path17.join(this.workDir, `${d.id}.qcow2`);
    await createDisk(file, d.size, d.backing);
    await this.qmp.execute("blockdev-add", { driver: "qcow2", "node-name": d.id, discard: "unmap", file: { driver: "file", filename: file } });
    await this.qmp.execute("device_add", { driver: "nvme", id: `nvme-${d.id}`, bus: `rp-hp${slot}`, serial: d.serial, drive: d.id });
    this.hotplugged++;
    this.spec.disks.push({ id: d.id, serial: d.serial, path: file });
    await this.succeed(`i=0; until ls /dev/disk/by-id/ 2>/dev/null | grep -q '_${d.serial}$'; do i=$((i+1)); [ $i -lt ${Math.ceil(this.t(seconds) / 200)} ] || { echo "no disk with serial ${d.serial} appeared" >&2; exit 1; }; sleep 0.2; done`, seconds * 2);
  }
  /** Freezes the guest's CPUs (QMP `stop`): to the engine, a guest that hangs. */
  async pause() {
    await this.qmp.execute("stop");
  }
  /** Waits for a regular expression on the serial console (timeout in KVM seconds, scaled). */
  waitForSerial(re, seconds) {
    return this.serial.waitFor(re, this.t(seconds));
  }
  /** A shell on the serial console's login shell (echoing, line-edited): for bootstrapping. */
  serialShell(timeoutSeconds = 60) {
    return new Shell(this.serial, { timeoutMs: this.t(timeoutSeconds) });
  }
  /**
   * Starts the control shell: from the serial login shell, a root `sh` reading commands from the
   * virtio console /dev/hvc0 set raw and non-echoing, as nixpkgs' test-instrumentation.nix
   * backdoor does. Kernel messages and getty output stay on the serial port, so command output
   * on hvc0 is never interleaved with them, and it is much faster than the emulated UART.
   * `sudo`: the login user is not root (the NixOS installer logs in as `nixos`).
   */
  async connect(opts = {}) {
    if (this.controlShell && !this.controlShell.isBroken) return this.controlShell;
    const nonce = newNonce();
    const ready = `rdy${nonce}`;
    const freeHvc0 = "if command -v systemctl >/dev/null; then systemctl stop serial-getty@hvc0.service 2>/dev/null; fi";
    const inner = `${freeHvc0}; exec </dev/hvc0 >/dev/hvc0 2>&1; stty raw -echo; printf "%s%s\\n" rdy ${nonce}; PS1= exec sh /dev/hvc0`;
    const starter = `${opts.sudo ? "sudo -n " : ""}setsid sh -c '${inner}' </dev/null >/dev/null 2>&1 &`;
    const serial = this.serialShell(opts.timeoutSeconds ?? 60);
    await untilShellAnswers(this.serial, nonce, this.t(opts.timeoutSeconds ?? 60), this.t(0.5));
    const readyP = this.control.waitFor(new RegExp(ready), this.t(opts.timeoutSeconds ?? 60));
    await serial.succeed(starter);
    await readyP;
    const shell = new Shell(this.control, { timeoutMs: this.t(300) });
    await shell.succeed("true");
    this.controlShell = shell;
    return shell;
  }
  /**
   * Copies a host directory into the guest (as a tar stream over the control shell): small
   * payloads such as a flake. The guest directory is created; existing files are overwritten.
   */
  async copyIn(hostDir, guestDir, seconds = 120, files) {
    const tar = files ? await execa("tar", ["-C", hostDir, "--null", "--no-recursion", "-czf", "-", "-T", "-"], { encoding: "buffer", input: files.map((f) => `${f}\0`).join("") }) : await execa("tar", ["-C", hostDir, "--exclude=.git", "-czf", "-", "."], { encoding: "buffer", stdin: "ignore" });
    const b64 = Buffer.from(tar.stdout).toString("base64");
    await this.succeed(`mkdir -p ${shellQuote(guestDir)} && printf %s ${b64} | base64 -d | tar -xzf - -C ${shellQuote(guestDir)}`, seconds);
  }
  /** The short socket directory (socketDirFor), when the work directory was too deep for one. */
  removeSocketDir() {
    const dir = path17.dirname(this.spec.sockets.qmp);
    if (dir !== this.workDir) rmSync3(dir, { recursive: true, force: true });
  }
  get shell() {
    if (!this.controlShell || this.controlShell.isBroken) throw new Error(`${this.name}: no control shell; call connect() first (after a reboot too)`);
    return this.controlShell;
  }
  run(cmd, seconds = 300) {
    return this.shell.run(cmd, { timeoutMs: this.t(seconds) });
  }
  succeed(cmd, seconds = 300) {
    return this.shell.succeed(cmd, { timeoutMs: this.t(seconds) });
  }
  fail(cmd, seconds = 300) {
    return this.shell.fail(cmd, { timeoutMs: this.t(seconds) });
  }
  /** Polls `systemctl show UNIT` each second until active; fails fast on `failed` (test-driver's wait_for_unit). */
  async waitForUnit(unit, seconds = 300) {
    const deadline = Date.now() + this.t(seconds);
    for (; ; ) {
      const out2 = await this.succeed(`systemctl --no-pager show ${shellQuote(unit)} --property=ActiveState,SubState,LoadState`);
      const props2 = parseKeyValue(out2);
      if (props2.ActiveState === "active") return;
      if (props2.ActiveState === "failed") throw new Error(`unit ${unit} reached state failed`);
      if (props2.LoadState === "not-found") throw new Error(`unit ${unit} does not exist`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for unit ${unit} (last ActiveState=${props2.ActiveState})`);
      await sleep2(1e3);
    }
  }
  /** Resolves on the next guest reset (reboot) after `afterCount` resets; QMP RESET event. */
  waitForReset(seconds, afterCount = this.resets) {
    if (this.resets > afterCount) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        reject(new PowerOffTimeoutError(this.name, "reboot", seconds * this.scale | 0, this.serial.tail()));
      }, this.t(seconds));
      const onReset = () => {
        cleanup();
        resolve();
      };
      const onExit2 = () => {
        cleanup();
        reject(new RehearseError("qemu-exited", `${this.name}: QEMU exited while waiting for a reboot`, { machine: this.name, during: "reboot" }));
      };
      const cleanup = () => {
        clearTimeout(timer);
        this.qmp.off("RESET", onReset);
        this.qmp.off("close", onExit2);
      };
      this.qmp.on("RESET", onReset);
      this.qmp.on("close", onExit2);
    });
  }
  qmpEvents() {
    return this.qmp?.events ?? [];
  }
  /**
   * Hot-unplugs a device (e.g. `nvme-disk1`) through QMP and waits for QEMU's DEVICE_DELETED:
   * PCIe removal needs the guest's cooperation (pciehp's attention button, about 5 s).
   */
  async hotUnplug(deviceId, seconds = 30) {
    const deleted = new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.qmp.off("DEVICE_DELETED", on6);
        reject(new Error(`${this.name}: ${deviceId} was not released by the guest within ${seconds * this.scale}s`));
      }, this.t(seconds));
      const on6 = (ev) => {
        if (ev.data?.device !== deviceId) return;
        clearTimeout(timer);
        this.qmp.off("DEVICE_DELETED", on6);
        resolve();
      };
      this.qmp.on("DEVICE_DELETED", on6);
    });
    deleted.catch(() => {
    });
    await this.qmp.execute("device_del", { id: deviceId });
    await deleted;
  }
  /** ACPI power button; waits for QEMU to exit, then forces it. */
  async powerDown(seconds = 60) {
    if (!this.isRunning) return;
    await this.qmp.execute("system_powerdown").catch(() => {
    });
    await this.waitForShutdown(seconds).catch(async () => {
      await this.qmp.execute("quit").catch(() => {
      });
      await this.exited;
      await this.released();
    });
  }
  /**
   * The test driver's `shutdown()`: asks the guest to power off and waits for QEMU to exit.
   * The guest may end before the command's answer gets back over the control console (the
   * console closes mid-frame, seen under TCG in CI): that is the expected end, not an error.
   * Only not powering off within `seconds` is.
   */
  async shutdown(seconds = 120, cmd = "systemctl poweroff --no-block --no-wall") {
    if (!this.isRunning) return;
    await this.run(cmd, 60).catch(() => {
    });
    await this.waitForShutdown(seconds);
  }
  /** Waits for the guest to power itself off (e.g. after `poweroff`). */
  async waitForShutdown(seconds = 120) {
    const t = sleep2(this.t(seconds), "timeout", { ref: false });
    const r = await Promise.race([this.exited, t]);
    if (r === "timeout") throw new PowerOffTimeoutError(this.name, "power-off", seconds * this.scale, this.serial.tail());
    await this.released();
    return r;
  }
  /** After QEMU exited: close its sockets and forget the process (start() may run again). */
  async released() {
    await this.closeConsoles();
    this.proc = void 0;
  }
  async closeConsoles() {
    this.qmp?.close();
    await Promise.all([this.serial?.close(), this.control?.close()]);
  }
  /** Stops QEMU (quit, then SIGKILL) and removes the work dir unless kept. Idempotent. */
  async stop() {
    if (this.stopped) return;
    this.stopped = true;
    if (this.proc && !this.exit) {
      await Promise.race([this.qmp?.execute("quit").catch(() => {
      }), sleep2(2e3, void 0, { ref: false })]);
      const r = await Promise.race([this.exited, sleep2(3e3, "slow", { ref: false })]);
      if (r === "slow") {
        this.proc.kill("SIGKILL");
        await this.exited;
      }
    }
    await this.closeConsoles();
    this.proc = void 0;
    if (this.ownsWorkDir && !this.keep) rmSync3(this.workDir, { recursive: true, force: true });
    this.removeSocketDir();
    this.unregister?.();
    this.unregister = void 0;
  }
};
function shellQuote(s) {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
var UNIX_PATH_MAX = 108;
function socketPaths(dir) {
  return { serial: path17.join(dir, "serial.sock"), control: path17.join(dir, "control.sock"), qmp: path17.join(dir, "qmp.sock") };
}
function socketDirFor(workDir, tmp) {
  const longest = (dir) => Math.max(...Object.values(socketPaths(dir)).map((p) => Buffer.byteLength(p)));
  if (longest(workDir) < UNIX_PATH_MAX) return void 0;
  const base = longest(path17.join(tmp, "nr-xxxxxxxx")) < UNIX_PATH_MAX ? tmp : "/tmp";
  return path17.join(base, `nr-${randomBytes2(4).toString("hex")}`);
}

// src/demo.ts
async function runEngineDemo(opts) {
  const t0 = Date.now();
  const say = (s) => process.stdout.write(`[${((Date.now() - t0) / 1e3).toFixed(1).padStart(6)}s] ${s}
`);
  const decision = await chooseAccel(qemuBinary(), opts.accel);
  say(`accelerator: ${decision.accel} (${decision.reason})`);
  const guest = await buildTestGuest(say);
  say(`guest: Linux ${guest.kernelVersion} + busybox (cached as ${guest.key})`);
  const logDir = path18.resolve(opts.logDir, `demo-${(/* @__PURE__ */ new Date()).toISOString().replace(/[:.]/g, "-")}`);
  const m = await Machine.create({ ...testGuestOptions(guest, "demo", decision.accel, "2G"), keep: opts.keep, logDir });
  try {
    await m.start();
    say(`QEMU started; logs in ${logDir}`);
    await m.waitForSerial(GUEST_PROMPT, 30);
    say("serial shell is up");
    await m.connect();
    say("control shell on /dev/hvc0 is up");
    say(`UEFI: ${(await m.succeed("test -d /sys/firmware/efi && echo yes || echo no")).trim()}`);
    for (const l of (await m.succeed("lsblk -d -o NAME,SERIAL,SIZE")).trimEnd().split("\n")) say(`  ${l}`);
    const before = m.resetCount;
    await m.run("reboot").catch(() => {
    });
    await m.waitForReset(30, before);
    say("guest rebooted");
    await m.waitForSerial(GUEST_PROMPT, 30);
    await m.connect();
    say(`back after reboot: uptime ${(await m.succeed('cut -d" " -f1 /proc/uptime')).trim()}s`);
    await m.run("poweroff").catch(() => {
    });
    await m.waitForShutdown(30);
    say("powered off");
    return 0;
  } catch (e) {
    say(`FAILED: ${e.message}`);
    say(`logs: ${logDir}`);
    return 1;
  } finally {
    await m.stop();
    if (opts.keep) say(`kept ${m.workDir}`);
  }
}

// src/fixture.ts
async function buildFixture(opts = {}) {
  const url = new URL("../vm/fixture/build-fixture.mjs", import.meta.url).href;
  const mod = await import(url);
  return mod.buildFixture({ log: () => {
  }, ...opts });
}

// src/rehearsal.ts
import { randomBytes as randomBytes6 } from "node:crypto";
import { existsSync as existsSync9, mkdirSync as mkdirSync8, readFileSync as readFileSync15, rmSync as rmSync11 } from "node:fs";
import path32 from "node:path";

// src/faults.ts
var FAULTS = {
  "esp-not-mounted": {
    what: "unmount /mnt/boot right before Task 12 (nixos-install), as when the ESP was never mounted",
    beforeStep: { "task-12-install": async (m) => void await m.run("sudo umount /mnt/boot", 120) }
  },
  "remove-mirror-disk": {
    what: "hot-unplug the second disk (QMP device_del) after the install, before the reboot",
    async beforePowerOff(m, disks) {
      if (disks.length < 2) return disks;
      await m.hotUnplug(`nvme-${disks[1].id}`);
      return disks.filter((_, i2) => i2 !== 1);
    },
    keptDisks: (disks) => disks.length > 1 ? { disks: disks.filter((_, i2) => i2 !== 1), what: "boot the kept installed system without its second disk" } : void 0
  },
  "kernel-panic": {
    what: "boot the installer kernel with rdinit=/nonexistent: it finds no init and panics mounting a root it cannot name",
    inBoot: true,
    installerAppend: ["rdinit=/nonexistent"]
  },
  "boot-hang": {
    what: "freeze the installer VM (QMP stop) once its kernel has started",
    inBoot: true,
    async installerStarted(m) {
      await m.waitForSerial(/EFI stub: /, 120);
      await m.pause();
    }
  },
  "kill-qemu": {
    what: "SIGKILL QEMU in the middle of the install (at Task 6, the pool)",
    beforeStep: { "task-06-root-filesystem": (m) => void (m.pid && process.kill(m.pid, "SIGKILL")) }
  },
  "forge-marker": {
    what: "make Task 1's command write a forged command-completion marker straight to the control console",
    step: {
      // Straight to the control console, around the protocol's base64: what a console-writing
      // activation script or a hostile command could do.
      "task-01-uefi": (orig) => ({ ...orig, commands: (c3) => orig.commands(c3).map((cmd, k) => k ? cmd : `printf '\\n0:forgedxnrforged\\n' >/dev/hvc0; ${cmd}`) })
    }
  }
};
function faultHooks(fault) {
  return fault ? FAULTS[fault] : { what: "" };
}
var FAULT_DESCRIPTIONS = Object.fromEntries(Object.entries(FAULTS).map(([k, v]) => [k, v.what]));

// src/flake.ts
import { existsSync as existsSync3, readFileSync as readFileSync6, statSync as statSync5 } from "node:fs";
import path19 from "node:path";

// src/limits.ts
var LIMITS = {
  memoryMiB: { min: 1024, max: 262144, unit: "MiB" },
  cpus: { min: 1, max: 64, unit: "CPUs" },
  phaseTimeoutMinutes: { min: 1, max: 1440, unit: "minutes" },
  diskGiB: { min: 4, max: 2048, unit: "GiB" }
};
var DEFAULT_PHASE_TIMEOUT_MINUTES = 60;
var LimitError = class extends RehearseError {
  constructor(setting, value, expected) {
    super("input", `${setting} must be ${expected} (got '${value}')`, { setting, value, expected });
    this.setting = setting;
    this.value = value;
    this.expected = expected;
  }
  setting;
  value;
  expected;
  name = "LimitError";
};
function wholeNumber(setting, raw, range) {
  const v = raw.trim();
  const n2 = /^\d+$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isSafeInteger(n2) || n2 < range.min || n2 > range.max) throw new LimitError(setting, raw, `a whole number of ${range.unit} from ${range.min} to ${range.max}`);
  return n2;
}
function diskSize(setting, raw) {
  const v = raw.trim();
  const m = /^(\d+)([MGT])$/.exec(v);
  const gib = m ? Number(m[1]) * { M: 1 / 1024, G: 1, T: 1024 }[m[2]] : Number.NaN;
  const { min, max } = LIMITS.diskGiB;
  if (!(gib >= min && gib <= max)) throw new LimitError(setting, raw, `a size like 20G, from ${min}G to ${max / 1024}T (the ESP alone takes 1 GiB)`);
  return v;
}
var HOST_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,62}$/;
function hostName(setting, host) {
  if (!HOST_NAME.test(host)) throw new LimitError(setting, host, "a Nix attribute name of letters, digits, _ and - (not starting with a digit or -), at most 63 characters: the name under nixosConfigurations");
  return host;
}

// src/flake.ts
var FlakeError = class extends RehearseError {
  constructor(message, kind = "input", fields = {}) {
    super(kind, message, fields);
    this.name = "FlakeError";
  }
};
function declaredHosts(flakeNix) {
  const text = flakeNix.replace(/#[^\n]*/g, "");
  const hosts = /* @__PURE__ */ new Set();
  for (const m of text.matchAll(/nixosConfigurations\s*\.\s*"?([\w-]+)"?\s*=/g)) hosts.add(m[1]);
  const set = /nixosConfigurations\s*=\s*\{/.exec(text);
  if (set) {
    let depth = 0;
    let i2 = set.index + set[0].length - 1;
    const start = i2;
    for (; i2 < text.length; i2++) {
      if (text[i2] === "{") depth++;
      else if (text[i2] === "}" && --depth === 0) break;
    }
    const body = text.slice(start + 1, i2);
    let d = 0;
    let token = "";
    for (const c3 of body) {
      if (c3 === "{" || c3 === "[" || c3 === "(") d++;
      else if (c3 === "}" || c3 === "]" || c3 === ")") d--;
      token = d === 0 ? token + c3 : "";
      const m = d === 0 ? /(?:^|[;\s])"?([\w-]+)"?\s*=\s*$/.exec(token) : null;
      if (m) {
        hosts.add(m[1]);
        token = "";
      }
    }
  }
  return [...hosts];
}
function parseFlakeRef(ref) {
  const i2 = ref.lastIndexOf("#");
  return i2 < 0 ? { where: ref, host: "" } : { where: ref.slice(0, i2), host: ref.slice(i2 + 1) };
}
function splitFlakeRef(ref) {
  const { where, host } = parseFlakeRef(ref);
  if (!host) {
    throw new RehearseError(
      "input",
      `flake reference '${ref}' names no host: write it as <path-or-url>#<host>, e.g. .#server (the host is the name under nixosConfigurations)`,
      { flakeRef: ref, problem: "no-host" }
    );
  }
  return [where || ".", hostName(`the host in flake reference '${ref}'`, host)];
}
function flakeHost(ref) {
  return parseFlakeRef(ref).host;
}
function localFlakeDir(where, base = process.cwd()) {
  if (/^[a-z+]+:/.test(where) && !where.startsWith("path:")) return void 0;
  return path19.resolve(base, where.replace(/^path:/, "") || ".");
}
function resolveFlake(ref) {
  const [where, host] = splitFlakeRef(ref);
  const dir = localFlakeDir(where);
  if (!dir) throw new FlakeError(`only local flake directories are supported (got '${where}'): check the repository out and pass its path, e.g. .#${host}`, "input", { flakeRef: ref });
  if (!existsSync3(dir) || !statSync5(dir).isDirectory()) throw new FlakeError(`flake directory not found: ${dir}`, "input", { dir });
  const file = path19.join(dir, "flake.nix");
  if (!existsSync3(file)) throw new FlakeError(`${dir} has no flake.nix: pass the directory of your configuration's flake`, "input", { dir });
  const hosts = declaredHosts(readFileSync6(file, "utf8"));
  if (hosts.length && !hosts.includes(host)) {
    throw new FlakeError(`the flake in ${dir} has no nixosConfigurations.${host}; it declares: ${hosts.join(", ")}. Pass one of them after '#'.`, "unknown-flake-host", { dir, host, declared: hosts });
  }
  return { dir, host, ref: `${dir}#${host}` };
}

// src/host-ready.ts
function hostProblems(env = process.env) {
  const problems = [];
  const tools = [["QEMU", qemuBinary(env)], ["qemu-img", qemuImgBinary(env)], ["ssh-keygen", "ssh-keygen"]];
  for (const [what, bin] of tools) if (!commandPath(bin, env)) problems.push(`${what} not found (${bin})`);
  try {
    findFirmware(firmwareCandidates(env));
  } catch {
    problems.push("OVMF UEFI firmware not found");
  }
  return problems;
}
function hostNotReady(env = process.env) {
  const problems = hostProblems(env);
  if (!problems.length) return void 0;
  return new RehearseError("host-not-ready", `this host is not ready for a rehearsal: ${problems.join("; ")}. \`nixos-rehearse doctor\` says more; to install: ${INSTALL_HINT}`, { problems });
}

// src/iso/source.ts
import { createHash } from "node:crypto";
import { createReadStream as createReadStream2, createWriteStream as createWriteStream3, existsSync as existsSync4, mkdirSync as mkdirSync2, readdirSync as readdirSync2, renameSync, rmSync as rmSync4, statSync as statSync6 } from "node:fs";
import os5 from "node:os";
import path20 from "node:path";
import { Readable as Readable5 } from "node:stream";
import { pipeline } from "node:stream/promises";
var IsoError = class extends RehearseError {
  constructor(message, kind = "iso-download", fields = {}) {
    super(kind, message, fields);
    this.name = "IsoError";
  }
};
var checksumMismatch = (file, expected, actual) => new IsoError(`checksum mismatch for ${file}: expected sha256 ${expected}, got ${actual}. Nothing was booted.`, "iso-checksum-mismatch", { path: file, expected, actual });
async function sha256File(file) {
  const h2 = createHash("sha256");
  await pipeline(createReadStream2(file), h2);
  return h2.digest("hex");
}
function parseSha256File(text) {
  const m = /\b([0-9a-f]{64})\b/i.exec(text);
  if (!m) throw new IsoError(`no sha256 in the checksum file: ${text.slice(0, 120)}`);
  return m[1].toLowerCase();
}
function normaliseSha(s) {
  const v = s.trim().toLowerCase().replace(/^sha256[:-]/, "");
  if (!/^[0-9a-f]{64}$/.test(v)) throw new IsoError(`--sha256 must be 64 hex digits (got '${s}')`, "input", { setting: "--sha256", value: s });
  return v;
}
async function publishedSha256(url) {
  let r;
  try {
    r = await fetch(`${url}.sha256`, { signal: AbortSignal.timeout(6e4) });
  } catch (e) {
    throw new IsoError(`fetching ${url}.sha256 failed: ${causeOf(e)}`, "iso-download", { url: `${url}.sha256` });
  }
  if (!r.ok) throw new IsoError(`an ISO from a URL needs its sha256: pass --sha256, or publish ${url}.sha256 (HTTP ${r.status})`, "iso-download", { url: `${url}.sha256`, status: r.status });
  return parseSha256File(await r.text());
}
var isoCachePath = (cacheDir2, sha256) => path20.join(cacheDir2, "iso", `${sha256}.iso`);
async function resolveIso(iso, sha256, cacheDir2, log = () => {
}, opts = {}) {
  const want = sha256 ? normaliseSha(sha256) : void 0;
  if (/^https?:\/\//.test(iso)) {
    if (!iso.startsWith("https://") && !/^http:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])[:/]/.test(iso)) {
      throw new IsoError(`refusing to download the ISO over plain http: ${iso} (use https://)`, "input", { url: iso });
    }
    const expected = want ?? await publishedSha256(iso);
    const file2 = isoCachePath(cacheDir2, expected);
    mkdirSync2(path20.dirname(file2), { recursive: true });
    removeLeftovers2(file2, log);
    if (existsSync4(file2)) {
      const got2 = await sha256File(file2);
      if (got2 === expected) return { path: file2, sha256: expected };
      log(`the cached ISO ${file2} has sha256 ${got2}, not ${expected}: it is discarded and downloaded again`);
      rmSync4(file2, { force: true });
    }
    await download(iso, file2, expected, log, opts);
    return { path: file2, sha256: expected };
  }
  const file = path20.resolve(iso.replace(/^~(?=\/)/, os5.homedir()));
  if (!existsSync4(file) || !statSync6(file).isFile()) throw new IsoError(`ISO not found: ${file}. Give a path to a NixOS installer ISO or an https:// URL.`, "input", { path: file });
  if (!want) return { path: file };
  const got = await sha256File(file);
  if (got !== want) throw checksumMismatch(file, want, got);
  return { path: file, sha256: got };
}
function causeOf(e) {
  const err = e;
  const cause = err.cause ? [err.cause.code, err.cause.message].filter(Boolean).join(": ") : "";
  return cause && cause !== err.message ? `${err.message} (${cause})` : err.message;
}
function removeLeftovers2(file, log) {
  const dir = path20.dirname(file);
  const prefix = `${path20.basename(file)}.part-`;
  for (const f of readdirSync2(dir)) {
    if (!f.startsWith(prefix)) continue;
    const pid = Number(f.slice(prefix.length));
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) continue;
    rmSync4(path20.join(dir, f), { force: true });
    log(`removed ${path20.join(dir, f)}, left by a download that did not finish`);
  }
}
async function download(url, file, expected, log, o2) {
  const attempts = o2.attempts ?? 3;
  const tmp = `${file}.part-${process.pid}`;
  let last = "";
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      await fetchTo(url, tmp, log, o2.idleTimeoutMs ?? 6e4);
      const got = await sha256File(tmp);
      if (got !== expected) {
        rmSync4(tmp, { force: true });
        throw checksumMismatch(url, expected, got);
      }
      renameSync(tmp, file);
      return;
    } catch (e) {
      rmSync4(tmp, { force: true });
      if (e instanceof IsoError && (e.kind === "iso-checksum-mismatch" || typeof e.fields.status === "number" && e.fields.status >= 400 && e.fields.status < 500)) throw e;
      last = causeOf(e);
      if (attempt < attempts) {
        log(`downloading ${url} failed (try ${attempt} of ${attempts}): ${last}; trying again`);
        await new Promise((r) => setTimeout(r, (o2.retryDelayMs ?? 3e3) * attempt));
      }
    }
  }
  throw new IsoError(`downloading ${url} failed after ${attempts} tries: ${last}`, "iso-download", { url, attempts });
}
async function fetchTo(url, tmp, log, idleMs) {
  const abort = new AbortController();
  let idle = setTimeout(() => abort.abort(new Error(`no data for ${idleMs / 1e3} s`)), idleMs);
  const poke = () => {
    clearTimeout(idle);
    idle = setTimeout(() => abort.abort(new Error(`no data for ${idleMs / 1e3} s`)), idleMs);
  };
  try {
    const r = await fetch(url, { signal: abort.signal });
    if (!r.ok || !r.body) throw new IsoError(`downloading ${url} failed: HTTP ${r.status} ${r.statusText}`.trim(), "iso-download", { url, status: r.status });
    const total = Number(r.headers.get("content-length")) || 0;
    log(`downloading ${url}${total ? ` (${(total / 2 ** 20).toFixed(0)} MiB)` : ""}`);
    let got = 0;
    let shown = 0;
    const body = Readable5.fromWeb(r.body);
    body.on("data", (chunk) => {
      poke();
      got += chunk.length;
      const tenth = total ? Math.floor(got / total * 10) : 0;
      if (tenth > shown && tenth < 10) {
        shown = tenth;
        log(`  ${tenth * 10} % (${(got / 2 ** 20).toFixed(0)} of ${(total / 2 ** 20).toFixed(0)} MiB)`);
      }
    });
    await pipeline(body, createWriteStream3(tmp), { signal: abort.signal });
    if (total && got !== total) throw new Error(`the connection closed after ${got} of ${total} bytes`);
  } catch (e) {
    if (abort.signal.aborted && abort.signal.reason instanceof Error) throw abort.signal.reason;
    throw e;
  } finally {
    clearTimeout(idle);
  }
}

// src/installer.ts
import { mkdirSync as mkdirSync4 } from "node:fs";
import path22 from "node:path";

// src/diagnosis/boot-stage.ts
var MARKERS = [
  // OVMF: its PlatformBootManagerLib status-code handler prints each boot option it loads and
  // starts, "%a: %a Boot%04x \"%s\" from %s" and "%a: failed to %a Boot%04x …: %r" (edk2
  // OvmfPkg); with no bootable option left it starts the UEFI Shell ("UEFI Interactive Shell
  // v2.2", "Shell> ", ShellPkg). Everything up to the hand-over is still the firmware.
  { stage: "firmware", re: /BdsDxe: (?:loading|starting|failed to load|failed to start) Boot[0-9A-Fa-f]{4} "[^"\n]*"/g },
  { stage: "firmware", re: /UEFI Interactive Shell v[\d.]+|^Shell> /gm },
  { stage: "firmware", re: /SeaBIOS \(version [^)\n]*\)/g },
  // systemd-boot draws its menu with "Boot in %u s." as the status line (systemd
  // src/boot/efi/boot.c); GRUB greets with "Welcome to GRUB!" (grub-core/kern/main.c) and heads
  // its menu with "GNU GRUB  version %s" (grub-core/normal/main.c grub_normal_init_page).
  { stage: "boot-loader", re: /Boot in \d+ s\./g },
  { stage: "boot-loader", re: /Welcome to GRUB!|GNU GRUB {1,2}version \S+/g },
  // The kernel and its initrd are NixOS's stage 1: the EFI stub's first words ("EFI stub: …",
  // linux drivers/firmware/efi/libstub efi_info's prefix), the printk banner "Linux version …"
  // (init/version.c), then stage-1-init.sh's greeting "<<< NixOS Stage 1 >>>" and, when it
  // gives up, "An error occurred in stage 1 of the boot process" (nixpkgs
  // nixos/modules/system/boot/stage-1-init.sh). systemd in the initrd greets with the
  // initrd-release PRETTY_NAME, "… (Initrd)" (nixpkgs nixos/modules/misc/version.nix).
  { stage: "initrd", re: /EFI stub: [^\n]*/g },
  { stage: "initrd", re: /Linux version \d[^\s]*/g },
  { stage: "initrd", re: /<<< NixOS Stage 1 >>>/g },
  { stage: "initrd", re: /<<< stage 1(?: failed)?: [^\n]*?>>>/g },
  { stage: "initrd", re: /An error occurred in stage 1 of the boot process/g },
  { stage: "initrd", re: /Welcome to [^\n]*\(Initrd\)!/g },
  // Stage 2: stage-2-init.sh's "<<< NixOS Stage 2 >>>" (nixpkgs
  // nixos/modules/system/boot/stage-2-init.sh), then systemd's "Welcome to <PRETTY_NAME>!"
  // (systemd src/core/main.c status_welcome), and its emergency target's "You are in emergency
  // mode" (units/emergency.service) when local file systems failed.
  { stage: "stage-2", re: /<<< NixOS Stage 2 >>>/g },
  { stage: "stage-2", re: /Welcome to NixOS(?![^\n]*\(Initrd\))[^\n]*!/g },
  { stage: "stage-2", re: /You are in emergency mode/g },
  // The login prompt: getty's greeting "<<< Welcome to NixOS <label> (\m) - \l >>>" (nixpkgs
  // nixos/modules/services/ttys/getty.nix; the installer's too), agetty's "<host> login: " and,
  // with autologin, "<host> login: <user> (automatic login)" (util-linux term-utils/agetty.c).
  { stage: "login", re: /<<< Welcome to NixOS [^\n]*>>>/g },
  { stage: "login", re: /^(?!Last )\S+ login: /gm },
  { stage: "login", re: /\(automatic login\)/g },
  // nixos-install's last words (nixpkgs pkgs/by-name/ni/nixos-install/nixos-install.sh).
  { stage: "install", re: /^installation finished!/gm },
  // The kernel's last line before it powers off or resets (kernel/reboot.c). "secureboot: Secure
  // boot disabled" must not count, hence the boundary.
  { stage: "reboot", re: /(?<![\w-])reboot: (?:Power down|Restarting system|System halted)/g }
];
var STAMP = /^\[ *\d+\.\d{3}\] /gm;
function normalizeSerial(serialText) {
  return clean(serialText).replace(STAMP, "");
}
function lineAt(text, index, length) {
  const start = text.lastIndexOf("\n", index - 1) + 1;
  const endNl = text.indexOf("\n", index);
  const end = endNl < 0 ? text.length : endNl;
  const line = text.slice(start, end);
  if (line.length <= 240) return line.trim();
  const from = Math.max(0, index - start - 80);
  return line.slice(from, Math.min(line.length, index - start + length + 80)).trim();
}
function bootStage(serialText) {
  const text = normalizeSerial(serialText);
  let best;
  MARKERS.forEach((m, rank) => {
    for (const hit of text.matchAll(m.re)) {
      const index = hit.index ?? 0;
      if (!best || index > best.index || index === best.index && rank > best.rank) best = { stage: m.stage, index, length: hit[0].length, rank };
    }
  });
  if (!best) return { reached: "none", evidence: "" };
  return { reached: best.stage, evidence: lineAt(text, best.index, best.length) };
}
function kernelPanic(serialText) {
  const m = /Kernel panic - not syncing: ([^\n]*)/.exec(normalizeSerial(serialText));
  if (!m) return void 0;
  return `Kernel panic - not syncing: ${m[1].replace(/\s*\]---\s*$/, "").trim()}`;
}
function firmwareFailures(serialText) {
  const text = normalizeSerial(serialText);
  const failed = [...new Set([...text.matchAll(/BdsDxe: failed to (?:load|start) Boot[0-9A-Fa-f]{4} [^\n]*/g)].map((m) => m[0].trim()))];
  return { failed, shell: /UEFI Interactive Shell v[\d.]+|^Shell> /m.test(text) };
}
function stage1Failure(serialText) {
  const text = normalizeSerial(serialText);
  const line = /<<< stage 1 failed: [^\n]*?>>>|An error occurred in stage 1 of the boot process[^\n]*/.exec(text)?.[0];
  const reasons = [...new Set([...text.matchAll(/^(?:.*?)(cannot import '[^']+': [^\n]*|filesystem '[^']+' cannot be mounted[^\n]*|mount: mounting \S+ on \S+ failed: [^\n]*|Timed out waiting for device [^\n]*)/gm)].map((m) => m[1].trim()))];
  if (!line && !reasons.some((r) => r.startsWith("cannot import"))) return void 0;
  return { line: line ?? reasons[0], reasons };
}
function oomKills(serialText) {
  const text = normalizeSerial(serialText);
  return [...text.matchAll(/(?:Memory cgroup out of memory|Out of memory): Killed process \d+ \([^)\n]*\)[^\n]*/g)].map((m) => m[0].trim());
}
var BOOT_GAVE_UP = /Kernel panic - not syncing:[^\n]*\n|An error occurred in stage 1 of the boot process[^\n]*\n|You are in emergency mode[^\n]*\n/;
function gaveUpStage(line) {
  return /Kernel panic/.test(line) ? "the kernel" : /stage 1/.test(line) ? "stage 1 (the initrd)" : "stage 2 (systemd emergency mode)";
}

// src/iso/iso.ts
import { mkdirSync as mkdirSync3, readFileSync as readFileSync7 } from "node:fs";
import path21 from "node:path";

// src/iso/grub-cfg.ts
var GrubConfigError = class extends Error {
  name = "GrubConfigError";
};
function words(line) {
  const out2 = [];
  let cur = "";
  let q;
  let any = false;
  for (let i2 = 0; i2 < line.length; i2++) {
    const c3 = line[i2];
    if (q) {
      if (c3 === q) q = void 0;
      else if (c3 === "\\" && q === '"' && i2 + 1 < line.length) cur += line[++i2];
      else cur += c3;
    } else if (c3 === "'" || c3 === '"') {
      q = c3;
      any = true;
    } else if (c3 === "\\" && i2 + 1 < line.length) {
      cur += line[++i2];
      any = true;
    } else if (/\s/.test(c3)) {
      if (cur || any) out2.push(cur);
      cur = "";
      any = false;
    } else {
      cur += c3;
      any = true;
    }
  }
  if (cur || any) out2.push(cur);
  return out2;
}
function stripComment(line) {
  let q;
  for (let i2 = 0; i2 < line.length; i2++) {
    const c3 = line[i2];
    if (q) {
      if (c3 === q) q = void 0;
    } else if (c3 === "'" || c3 === '"') q = c3;
    else if (c3 === "#" && (i2 === 0 || /\s/.test(line[i2 - 1]))) return line.slice(0, i2);
  }
  return line;
}
var collapse = (p) => p.replace(/\/{2,}/g, "/");
function parseGrubConfig(text) {
  const entries = [];
  const stack = [];
  const lines = text.split(/\r?\n/);
  for (let n2 = 0; n2 < lines.length; n2++) {
    const raw = stripComment(lines[n2]).trim();
    if (!raw) continue;
    const w = words(raw);
    const head = w[0];
    const opensBlock = raw.endsWith("{");
    if ((head === "menuentry" || head === "submenu") && opensBlock) {
      const title = w[1] ?? "";
      const classes = [];
      for (let i2 = 2; i2 < w.length; i2++) if (w[i2] === "--class" && w[i2 + 1]) classes.push(w[i2 + 1]);
      if (head === "submenu") stack.push({ kind: "submenu", title });
      else {
        const submenus = stack.filter((s) => s.kind === "submenu").map((s) => s.title);
        stack.push({ kind: "menuentry", entry: { title, classes, kernel: "", initrds: [], params: "", submenus } });
      }
      continue;
    }
    if (raw.endsWith("}") && !raw.includes("{")) {
      const s = stack.pop();
      if (!s) throw new GrubConfigError(`grub.cfg line ${n2 + 1}: '}' without an open block`);
      if (s.entry) entries.push(s.entry);
      continue;
    }
    if (opensBlock) {
      stack.push({ kind: "other" });
      continue;
    }
    const entry = [...stack].reverse().find((s) => s.kind === "menuentry")?.entry;
    if (!entry) continue;
    if (head === "linux" || head === "linuxefi") {
      entry.kernel = collapse(w[1] ?? "");
      entry.params = w.slice(2).filter((x) => x !== "${isoboot}" && x !== "$isoboot").join(" ");
    } else if (head === "initrd" || head === "initrdefi") {
      entry.initrds = w.slice(1).map(collapse);
    }
  }
  if (stack.some((s) => s.kind !== "other")) throw new GrubConfigError("grub.cfg ends inside a menuentry or submenu (unbalanced braces)");
  return entries;
}
function installerEntry(text) {
  const entries = parseGrubConfig(text);
  const e = entries.find((x) => x.submenus.length === 0 && x.kernel);
  if (!e) {
    throw new GrubConfigError(
      `no top-level menuentry with a 'linux' line in the ISO's grub.cfg (${entries.length} entries found): is this a NixOS installer ISO?`
    );
  }
  if (!e.initrds.length) throw new GrubConfigError(`menuentry '${e.title}' has no initrd line`);
  if (/\$\{?\w/.test(e.params)) throw new GrubConfigError(`menuentry '${e.title}' uses a GRUB variable in its kernel parameters that a direct boot cannot expand: ${e.params}`);
  if (!/(^|\s)init=\S+/.test(e.params)) throw new GrubConfigError(`menuentry '${e.title}' has no init= parameter: not a NixOS installer entry`);
  return e;
}
function directBootParams(e, serial = "console=ttyS0,115200n8") {
  const params = e.params.split(/\s+/).filter(Boolean);
  if (!params.includes(serial)) params.push(serial);
  return params.join(" ");
}

// src/iso/iso.ts
function xorrisoBinary() {
  return process.env.NIXOS_REHEARSE_XORRISO || "xorriso";
}
async function xorriso(iso, args) {
  const r = await execa(xorrisoBinary(), ["-osirrox", "on", "-indev", iso, ...args], { reject: false, stdin: "ignore" });
  if (r.exitCode !== 0) {
    const said = `${r.stderr}`.split("\n").filter((l) => /FAILURE|SORRY|not found|Cannot|No such/i.test(l)).join("\n");
    if (r.code === "ENOENT") throw new RehearseError("host-not-ready", `xorriso is not installed: sudo apt-get install xorriso (it reads the ISO's boot menu without mounting it)`, { tool: "xorriso" });
    throw new Error(`xorriso could not read ${iso}: ${said || `exit ${r.exitCode}`}`);
  }
  return `${r.stdout}`;
}
async function findGrubCfg(iso) {
  const out2 = await xorriso(iso, ["-find", "/EFI", "-name", "grub.cfg"]);
  const found = [...out2.matchAll(/^'(.+)'$/gm)].map((m) => m[1]);
  if (!found.length) throw new Error(`${iso} has no /EFI/*/grub.cfg: not a NixOS installer ISO (or not a UEFI one)`);
  return found.sort((a2, b) => a2.length - b.length)[0];
}
async function isoBoot(iso, dir) {
  mkdirSync3(dir, { recursive: true });
  const grubCfg = await findGrubCfg(iso);
  const cfgFile = path21.join(dir, "grub.cfg");
  await xorriso(iso, ["-extract", grubCfg, cfgFile]);
  const entry = installerEntry(readFileSync7(cfgFile, "utf8"));
  const kernel = path21.join(dir, "kernel");
  const initrd = path21.join(dir, "initrd");
  await xorriso(iso, ["-extract", entry.kernel, kernel]);
  if (entry.initrds.length !== 1) throw new Error(`menuentry '${entry.title}' has ${entry.initrds.length} initrds; one is supported`);
  await xorriso(iso, ["-extract", entry.initrds[0], initrd]);
  return { kernel, initrd, append: directBootParams(entry), entry, grubCfg };
}

// src/installer.ts
var INSTALLER_PROMPT = /\[nixos@[\w-]+:[^\]]*\]\$/;
async function reachInstallerShell(machine) {
  const seen2 = await machine.waitForSerial(new RegExp(`${INSTALLER_PROMPT.source}|${BOOT_GAVE_UP.source}`), 120);
  if (BOOT_GAVE_UP.test(seen2[0])) throw new GuestGaveUpError("installer", gaveUpStage(seen2[0]), seen2[0].trim(), machine.serialTail(200));
  await machine.connect({ sudo: true });
}
async function startInstaller(opts) {
  if (opts.restore) return restoreInstaller(opts, opts.restore);
  const { iso, extraAppend, onStarted, restore: _r, ...rest } = opts;
  const machine = await Machine.create({ memoryMiB: DEFAULT_MEMORY_MIB, ...rest, iso: { path: iso } });
  try {
    const bootDir = path22.join(machine.workDir, "iso-boot");
    mkdirSync4(bootDir, { recursive: true });
    const boot = await isoBoot(iso, bootDir);
    const append = [boot.append, ...extraAppend ?? []].join(" ");
    machine.spec.kernelBoot = { kernel: boot.kernel, initrd: boot.initrd, append };
    await machine.start();
    onStarted?.(machine).catch(() => {
    });
    await reachInstallerShell(machine);
    return { machine, boot };
  } catch (e) {
    const serialTail = machine.serialTail(200);
    await machine.stop();
    throw Object.assign(e, { serialTail });
  }
}
var RestoreError = class extends Error {
  constructor(stateDir, reason) {
    super(`the saved installer ${stateDir} could not be restored: ${reason}`);
    this.stateDir = stateDir;
    this.reason = reason;
  }
  stateDir;
  reason;
  name = "RestoreError";
};
async function restoreInstaller(opts, s) {
  const { iso, extraAppend, onStarted, restore: _r, disks, ...rest } = opts;
  if (extraAppend?.length || onStarted) throw new Error("a restored installer cannot take extra kernel parameters or boot hooks: it does not boot");
  const machine = await Machine.create({
    ...rest,
    memoryMiB: s.memoryMiB,
    cpus: s.cpus,
    disks: [],
    hotplugSlots: s.slots,
    iso: { path: iso },
    restore: { state: s.state, efiVars: s.efiVars, serialLog: s.bootSerialLog }
  });
  try {
    const boot = await isoBoot(iso, path22.join(machine.workDir, "iso-boot"));
    if (boot.append !== s.append) throw new RestoreError(s.dir, `it was booted with '${s.append}', this ISO's entry says '${boot.append}'`);
    machine.spec.kernelBoot = { kernel: boot.kernel, initrd: boot.initrd, append: boot.append };
    try {
      await machine.start();
    } catch (e) {
      throw new RestoreError(s.dir, e.message.split("\n")[0]);
    }
    await machine.succeed(`date -u -s @${Math.floor(Date.now() / 1e3)} >/dev/null`);
    for (const d of disks ?? []) await machine.hotplugDisk(d);
    return { machine, boot, restoredFrom: s.dir };
  } catch (e) {
    const serialTail = machine.serialTail(200);
    await machine.stop();
    throw Object.assign(e, { serialTail });
  }
}

// src/installer-state.ts
import { createHash as createHash2, randomBytes as randomBytes3 } from "node:crypto";
import { existsSync as existsSync5, mkdirSync as mkdirSync5, readFileSync as readFileSync8, readdirSync as readdirSync3, renameSync as renameSync2, rmSync as rmSync5, statSync as statSync7, writeFileSync as writeFileSync5 } from "node:fs";
import path23 from "node:path";
var INSTALLER_STATE_FORMAT = 3;
var INSTALLER_SLOTS = 4;
function installerStateKey(k) {
  const text = JSON.stringify({ format: INSTALLER_STATE_FORMAT, slots: INSTALLER_SLOTS, ...k });
  return createHash2("sha256").update(text).digest("hex").slice(0, 24);
}
function installerStatesDir(cacheDir2) {
  return path23.join(cacheDir2, "installer-states");
}
async function keyFor(o2, boot) {
  const v = await toolVersion(qemuBinary());
  return installerStateKey({ isoSha256: o2.isoSha256, memoryMiB: o2.memoryMiB, cpus: o2.cpus, accel: o2.accel, qemuVersion: v.ok ? v.version : "unknown", cpuModel: o2.accel === "kvm" ? "host" : TCG_CPU_MODEL, append: boot.append ?? "" });
}
function readInstallerState(dir) {
  try {
    const read = JSON.parse(readFileSync8(path23.join(dir, "manifest.json"), "utf8"));
    const m = { ...read, dir, state: path23.join(dir, "state.zst"), efiVars: path23.join(dir, "efivars.fd"), bootSerialLog: path23.join(dir, "boot-serial.log") };
    if (!existsSync5(m.state) || statSync7(m.state).size === 0 || !existsSync5(m.efiVars)) return void 0;
    return m;
  } catch {
    return void 0;
  }
}
async function installerState(o2) {
  const log = o2.log ?? (() => {
  });
  const root = installerStatesDir(o2.cacheDir);
  mkdirSync5(root, { recursive: true });
  const tmp = path23.join(root, `.new-${process.pid}-${randomBytes3(4).toString("hex")}`);
  mkdirSync5(tmp);
  try {
    const boot = await isoBoot(o2.iso, path23.join(tmp, "iso-boot"));
    const key = await keyFor(o2, boot);
    const dir = path23.join(root, key);
    const have = readInstallerState(dir);
    if (have) return have;
    rmSync5(dir, { recursive: true, force: true });
    log(`  booting the installer once to save it for later runs (${dir})`);
    let bootSeconds;
    try {
      bootSeconds = await bootAndSave(o2, boot, tmp);
    } catch (e) {
      if (!(e instanceof GuestGaveUpError)) throw e;
      log(`  the installer's boot gave up (${e.message}); booting it once more`);
      rmSync5(path23.join(tmp, "vm"), { recursive: true, force: true });
      bootSeconds = await bootAndSave(o2, boot, tmp);
    }
    rmSync5(path23.join(tmp, "vm"), { recursive: true, force: true });
    const final = (f) => path23.join(dir, f);
    const manifest = {
      dir,
      key,
      state: final("state.zst"),
      efiVars: final("efivars.fd"),
      slots: INSTALLER_SLOTS,
      memoryMiB: o2.memoryMiB,
      cpus: o2.cpus,
      accel: o2.accel,
      isoSha256: o2.isoSha256,
      bootEntry: boot.entry.title,
      append: boot.append ?? "",
      createdAt: (/* @__PURE__ */ new Date()).toISOString(),
      bootSeconds,
      bootSerialLog: final("boot-serial.log")
    };
    writeFileSync5(path23.join(tmp, "manifest.json"), `${JSON.stringify(manifest, null, 2)}
`);
    try {
      renameSync2(tmp, dir);
    } catch (e) {
      const theirs = readInstallerState(dir);
      if (theirs) return theirs;
      throw e;
    }
    log(`  installer saved after a ${bootSeconds.toFixed(1)} s boot`);
    pruneInstallerStates(o2.cacheDir, KEEP_STATES);
    return manifest;
  } finally {
    rmSync5(tmp, { recursive: true, force: true });
  }
}
var KEEP_STATES = 4;
function pruneInstallerStates(cacheDir2, keep) {
  const root = installerStatesDir(cacheDir2);
  if (!existsSync5(root)) return;
  const entries = readdirSync3(root).map((n2) => ({ n: n2, p: path23.join(root, n2), t: statSync7(path23.join(root, n2)).mtimeMs }));
  for (const e of entries.filter((x) => x.n.startsWith(".new-"))) {
    const pid = Number(e.n.split("-")[1]);
    if (pid && !processAlive(pid)) rmSync5(e.p, { recursive: true, force: true });
  }
  const done = entries.filter((x) => !x.n.startsWith(".")).sort((a2, b) => b.t - a2.t);
  for (const e of done.slice(keep)) rmSync5(e.p, { recursive: true, force: true });
}
function discardInstallerState(s) {
  rmSync5(s.dir, { recursive: true, force: true });
}
async function bootAndSave(o2, boot, tmp) {
  const t0 = Date.now();
  const m = await Machine.create({
    name: "installer-save",
    accel: o2.accel,
    timeoutScale: o2.timeoutScale,
    memoryMiB: o2.memoryMiB,
    cpus: o2.cpus,
    iso: { path: o2.iso },
    kernelBoot: { kernel: boot.kernel, initrd: boot.initrd, append: boot.append },
    hotplugSlots: INSTALLER_SLOTS,
    workDir: path23.join(tmp, "vm"),
    logDir: o2.logDir
  });
  try {
    await m.start();
    await reachInstallerShell(m);
    const bootSeconds = (Date.now() - t0) / 1e3;
    writeFileSync5(path23.join(tmp, "boot-serial.log"), m.serialTail(1e5));
    await m.saveState(path23.join(tmp, "state.zst"), path23.join(tmp, "efivars.fd"));
    return bootSeconds;
  } finally {
    await m.stop();
  }
}

// src/egress/guest.ts
var PROXY_VARIABLES = ["http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"];
function proxyEnvCommand(url = EGRESS_PROXY.url) {
  const vars = [...PROXY_VARIABLES.map((v) => `${v}=${url}`), "no_proxy=127.0.0.1,localhost,::1", "NO_PROXY=127.0.0.1,localhost,::1"].join(" ");
  return `export ${vars}; systemctl set-environment ${vars} 2>/dev/null; systemctl try-restart nix-daemon.service 2>/dev/null; true`;
}

// src/phases/installed-vm.ts
import { readFileSync as readFileSync9 } from "node:fs";

// src/flake-files.ts
import { existsSync as existsSync6 } from "node:fs";
import path24 from "node:path";
async function flakeFiles(dir) {
  const inside = await execa("git", ["-C", dir, "rev-parse", "--is-inside-work-tree"], { reject: false, stdin: "ignore" }).catch(() => void 0);
  if (!inside || inside.exitCode !== 0 || inside.stdout.trim() !== "true") return void 0;
  const r = await execa("git", ["-C", dir, "ls-files", "-z", "--cached", "--", "."], { stdin: "ignore", stripFinalNewline: false });
  return r.stdout.split("\0").filter((f) => f && existsSync6(path24.join(dir, f))).sort();
}

// src/runbook/harness.ts
import { createHash as createHash3 } from "node:crypto";
import { rmSync as rmSync6, writeFileSync as writeFileSync6 } from "node:fs";
import path25 from "node:path";

// src/runbook/layouts.ts
var LAYOUTS = ["zfs", "zfs-mirror", "ext4", "btrfs"];
var RUNBOOK_POOL = { ashift: "12" };
var RUNBOOK_FS = {
  atime: "off",
  compression: "zstd",
  xattr: "sa",
  normalization: "formD",
  mountpoint: "none",
  acltype: "posixacl"
};
var RUNBOOK_DATASETS = [
  { name: "rpool/local", properties: { mountpoint: "none" } },
  { name: "rpool/safe", properties: { mountpoint: "none" } },
  { name: "rpool/local/root", properties: { mountpoint: "legacy" } },
  { name: "rpool/local/nix", properties: { mountpoint: "legacy", compression: "zstd" } },
  { name: "rpool/safe/persist", properties: { mountpoint: "legacy" } }
];
var ESP_MOUNT = { at: "/boot", source: "{esp}", fsType: "vfat" };
var ZFS_MOUNTS = [
  { at: "/", source: "rpool/local/root", fsType: "zfs" },
  { at: "/nix", source: "rpool/local/nix", fsType: "zfs" },
  { at: "/persist", source: "rpool/safe/persist", fsType: "zfs" },
  ESP_MOUNT
];
var zfs = (name, vdev) => ({
  name,
  title: vdev === "mirror" ? "ZFS root, two-disk mirror (ESP on each disk)" : "ZFS root on one disk",
  disks: vdev === "mirror" ? 2 : 1,
  dataPartition: { code: "BF01", name: "ZFS" },
  root: { kind: "zfs", pool: "rpool", poolProperties: RUNBOOK_POOL, fsProperties: RUNBOOK_FS, vdev, datasets: RUNBOOK_DATASETS },
  mounts: ZFS_MOUNTS
});
var LAYOUT = {
  zfs: zfs("zfs", "single"),
  "zfs-mirror": zfs("zfs-mirror", "mirror"),
  ext4: {
    name: "ext4",
    title: "ext4 root on one disk",
    disks: 1,
    dataPartition: { code: "8300", name: "root" },
    root: { kind: "ext4", label: "nixos" },
    mounts: [{ at: "/", source: "{data}", fsType: "ext4" }, ESP_MOUNT]
  },
  btrfs: {
    name: "btrfs",
    title: "Btrfs root on one disk, subvolumes root, nix, persist",
    disks: 1,
    dataPartition: { code: "8300", name: "root" },
    root: { kind: "btrfs", label: "nixos", subvolumes: ["root", "nix", "persist"] },
    mounts: [
      { at: "/", source: "{data}", fsType: "btrfs", options: "subvol=root" },
      { at: "/nix", source: "{data}", fsType: "btrfs", options: "subvol=nix" },
      { at: "/persist", source: "{data}", fsType: "btrfs", options: "subvol=persist" },
      ESP_MOUNT
    ]
  }
};
function layoutByName(name) {
  const l = LAYOUT[name];
  if (!l) throw new Error(`unknown layout '${name}': choose one of ${LAYOUTS.join(", ")}`);
  return l;
}

// src/runbook/harness.ts
var GUEST_DIR = "/tmp/rehearse";
var GUEST_CONFIG = `${GUEST_DIR}/config`;
var GUEST_FLAKE = `${GUEST_DIR}/flake`;
var REHEARSE_USER = "rehearse";
var VM_NIC_NAME = "rehearse0";
var nixString = (s) => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\$\{/g, "\\${")}"`;
function wrapperFlake(host) {
  return `{
  description = "nixos-rehearse: ${host} from the configuration under test, with the rehearsal VM's settings";

  inputs.config.url = "path:${GUEST_CONFIG}";

  outputs = { self, config, ... }: {
    nixosConfigurations.${nixString(host)} = config.nixosConfigurations.${nixString(host)}.extendModules {
      modules = [ ./harness.nix ./vm-hardware.nix ];
    };
  };
}
`;
}
function rehearsePassword(privateKey) {
  return createHash3("sha256").update("nixos-rehearse password\0").update(privateKey).digest("base64url").slice(0, 24);
}
function harnessModule(o2) {
  const settings = [
    'boot.kernelParams += [ "console=ttyS0,115200n8" ]: a login and the boot log on the serial console the rehearsal reads',
    'services.getty.autologinUser = "root" (forced): the engine logs in on the serial console after reboot',
    // nixpkgs nixos/doc/manual/configuration/renaming-interfaces.section.md: "links are directly
    // read by udev, not networkd, and will work even if networkd is disabled".
    `systemd.network.links."10-rehearse-nic": QEMU's NIC (MAC ${VM_NIC.mac}) is named ${VM_NIC_NAME}; the configuration's own interfaces are left as they are`,
    `networking.interfaces.${VM_NIC_NAME}.ipv4.addresses = ${VM_NIC.address}/${VM_NIC.prefixLength}: QEMU's user network, where the host reaches the VM's sshd`,
    `users.users.${REHEARSE_USER}: a normal user holding this run's SSH public key (its private key never leaves the host) and a throw-away password (initialPassword) that a password login must not get past`,
    `environment.etc."nixos-rehearse/generation".text = "${o2.generation ?? 1}": the known change a rebuild makes visible`
  ];
  const lines = [
    '# Added by nixos-rehearse for the rehearsal VM only (see report.json "injected").',
    "{ lib, ... }:",
    "{",
    '  boot.kernelParams = [ "console=ttyS0,115200n8" ];',
    '  services.getty.autologinUser = lib.mkForce "root";',
    "  # QEMU's NIC, matched by its MAC (nixpkgs nixos/doc/manual/configuration/renaming-interfaces.section.md).",
    '  systemd.network.links."10-rehearse-nic" = {',
    `    matchConfig.PermanentMACAddress = ${nixString(VM_NIC.mac)};`,
    `    linkConfig.Name = ${nixString(VM_NIC_NAME)};`,
    "  };",
    `  networking.interfaces.${VM_NIC_NAME}.ipv4.addresses = [ { address = ${nixString(VM_NIC.address)}; prefixLength = ${VM_NIC.prefixLength}; } ];`,
    `  users.users.${REHEARSE_USER} = {`,
    "    isNormalUser = true;",
    `    openssh.authorizedKeys.keys = [ ${nixString(o2.sshPublicKey.trim())} ];`,
    `    initialPassword = ${nixString(o2.password)};`,
    "  };",
    `  environment.etc."nixos-rehearse/generation".text = "${o2.generation ?? 1}";`,
    "}",
    ""
  ];
  return { file: `${GUEST_FLAKE}/harness.nix`, content: lines.join("\n"), settings };
}
var RUNBOOK_MOUNT_POINTS = [...new Set(LAYOUTS.flatMap((l) => layoutByName(l).mounts.map((m) => m.at)))];
function vmHardwareModule(hw) {
  const mps = Object.keys(hw.fileSystems).sort((a2, b) => a2.length - b.length || a2.localeCompare(b));
  const absent = RUNBOOK_MOUNT_POINTS.filter((mp) => !hw.fileSystems[mp]);
  const lines = [
    "# Added by nixos-rehearse: the file systems on the rehearsal VM's disks (from",
    "# nixos-generate-config --root /mnt): device, fsType and options replace the real",
    "# machine's; its other attributes (neededForBoot, ...) and other mounts stay.",
    "{ lib, ... }:",
    "{"
  ];
  for (const mp of mps) {
    const f = hw.fileSystems[mp];
    const opts = f.options.length ? f.options : ["defaults"];
    lines.push(
      `  fileSystems.${nixString(mp)} = {`,
      `    device = lib.mkForce ${nixString(f.device ?? "")};`,
      `    fsType = lib.mkForce ${nixString(f.fsType ?? "")};`,
      `    options = lib.mkForce [ ${opts.map(nixString).join(" ")} ];`,
      "  };"
    );
  }
  for (const mp of absent) lines.push(`  fileSystems.${nixString(mp)}.enable = lib.mkForce false;`);
  lines.push("  swapDevices = lib.mkForce [ ];", "}", "");
  return {
    file: `${GUEST_FLAKE}/vm-hardware.nix`,
    content: lines.join("\n"),
    settings: [
      `fileSystems.<mount point>.{device,fsType,options} (forced): ${mps.map((m) => `${m} = ${hw.fileSystems[m].device}`).join(", ")}`,
      ...absent.length ? [`fileSystems.<mount point>.enable = false (forced) for the runbook mount points this VM's layout has no disk for: ${absent.join(", ")}`] : [],
      "swapDevices = [ ] (forced)"
    ]
  };
}
var HARNESS_FILE_NAMES = ["flake.nix", "harness.nix", "vm-hardware.nix"];
function harnessFiles(o2) {
  return [
    { file: `${GUEST_FLAKE}/flake.nix`, content: wrapperFlake(o2.host), settings: [`nixosConfigurations.${o2.host} = <the configuration under test>.extendModules { modules = [ ./harness.nix ./vm-hardware.nix ]; }`] },
    harnessModule({ sshPublicKey: o2.sshPublicKey, password: o2.password, generation: o2.generation }),
    typeof o2.vmHardware === "string" ? { file: `${GUEST_FLAKE}/vm-hardware.nix`, content: o2.vmHardware, settings: [] } : vmHardwareModule(o2.vmHardware)
  ];
}
async function writeHarness(m, files, seconds = 120) {
  const dir = ownedTempDir("nixos-rehearse-harness-");
  try {
    for (const f of files) writeFileSync6(path25.join(dir, path25.basename(f.file)), f.content);
    await m.copyIn(dir, GUEST_FLAKE, seconds, files.map((f) => path25.basename(f.file)));
  } finally {
    rmSync6(dir, { recursive: true, force: true });
  }
}

// src/phases/installed-vm.ts
var BOOT_DONE = new RegExp(`login: root \\(automatic login\\)|${BOOT_GAVE_UP.source}`);
async function settle(m) {
  m.waitForSerial(/Boot in \d+ s\./, 60).then(() => m.serial.sendKeys("enter")).catch(() => {
  });
  const seen2 = await m.waitForSerial(BOOT_DONE, 120);
  if (!/automatic login/.test(seen2[0])) {
    throw new GuestGaveUpError("installed system", gaveUpStage(seen2[0]), seen2[0].trim(), m.serialTail(200));
  }
  await m.connect();
  await m.waitForUnit("multi-user.target", 120).catch(() => {
  });
}
async function bootInstalled(ctx, name) {
  const m = await Machine.create({
    name,
    accel: ctx.accel.accel,
    timeoutScale: timeoutScale(ctx.accel.accel),
    memoryMiB: ctx.memoryMiB,
    cpus: ctx.cpus,
    disks: ctx.disks,
    workDir: ctx.workDir,
    keep: true,
    sshHostPort: "auto",
    network: ctx.network,
    egress: ctx.egress,
    logDir: ctx.logDir
  });
  ctx.vm = m;
  await m.start();
  await settle(m);
  await useEgressProxy(ctx, m);
  return m;
}
async function useEgressProxy(ctx, m) {
  if (ctx.network === "public") await m.succeed(proxyEnvCommand(), 60);
}
var output = async (m, cmd, seconds = 300) => (await m.run(cmd, seconds)).output;
async function pushFlake(ctx, m, generation) {
  await m.succeed(`rm -rf ${GUEST_CONFIG}`);
  await m.copyIn(ctx.target.dir, GUEST_CONFIG, 120, await flakeFiles(ctx.target.dir));
  const i2 = ctx.installed;
  await writeHarness(m, harnessFiles({ host: ctx.target.host, sshPublicKey: i2.sshPublicKey, password: rehearsePassword(readFileSync9(i2.sshPrivateKeyFile, "utf8")), generation, vmHardware: i2.vmHardware }));
}

// src/phases/boot-installer.ts
function common2(ctx) {
  return {
    name: "installer",
    iso: ctx.iso.path,
    accel: ctx.accel.accel,
    timeoutScale: ctx.accel.timeoutScale,
    memoryMiB: ctx.memoryMiB,
    cpus: ctx.cpus,
    network: ctx.network,
    egress: ctx.egress,
    // No bootindex: the direct kernel boot holds 0.
    disks: ctx.disks.map((d) => ({ ...d, size: ctx.o.diskSize ?? "20G" })),
    workDir: ctx.workDir,
    logDir: ctx.logDir,
    keep: true
  };
}
async function restored(ctx) {
  const c3 = common2(ctx);
  const state = await installerState({ iso: ctx.iso.path, isoSha256: ctx.iso.sha256 ?? await sha256File(ctx.iso.path), memoryMiB: c3.memoryMiB, cpus: c3.cpus, accel: c3.accel, timeoutScale: c3.timeoutScale, cacheDir: ctx.cacheDir, logDir: ctx.logDir, log: (l) => ctx.rec.info(l) });
  try {
    const inst = await startInstaller({ ...c3, restore: state });
    ctx.rec.set({ iso: { ...ctx.rec.report.iso, restoredFrom: state.dir } });
    ctx.rec.info(`  restored the installer saved on ${state.createdAt} (${state.dir}); disks plugged in: ${ctx.disks.map((d) => d.serial).join(", ")}`);
    return inst;
  } catch (e) {
    if (!(e instanceof RestoreError)) throw e;
    ctx.rec.info(`  ${e.message}; it is discarded and the ISO booted instead`);
    discardInstallerState(state);
    return void 0;
  }
}
var bootInstallerPhase = {
  id: "boot-installer",
  title: "Boot the installer ISO",
  async run(ctx) {
    const reuse = ctx.o.reuseInstaller && !ctx.fault.inBoot;
    if (ctx.o.reuseInstaller && ctx.fault.inBoot) ctx.rec.info(`  not reusing a saved installer: the fault ${ctx.o.fault} is in the boot itself`);
    const inst = (reuse ? await restored(ctx) : void 0) ?? await startInstaller({
      ...common2(ctx),
      extraAppend: ctx.fault.installerAppend ?? [],
      onStarted: ctx.fault.installerStarted ? (m) => ctx.fault.installerStarted(m) : void 0
    });
    ctx.vm = inst.machine;
    await useEgressProxy(ctx, inst.machine);
    ctx.rec.set({ iso: { ...ctx.rec.report.iso, bootEntry: inst.boot.entry.title } });
    ctx.rec.info(`  booted '${inst.boot.entry.title}' (${inst.boot.append})`);
    return true;
  }
};

// src/runbook/parsers.ts
function parseSgdiskPrint(out2) {
  const disk = /^Disk (\S+):/m.exec(out2)?.[1];
  const partitions = [];
  for (const m of out2.matchAll(/^\s*(\d+)\s+(\d+)\s+(\d+)\s+([\d.]+ [KMGT]?i?B)\s+([0-9A-F]{4})\s*(.*)$/gm)) {
    partitions.push({ number: +m[1], start: +m[2], end: +m[3], size: m[4], code: m[5], name: m[6].trim() });
  }
  return { disk, partitions };
}
function parseZpoolStatus(out2) {
  const pools = [];
  for (const block of out2.split(/^(?=\s*pool: )/m)) {
    const pool = /^\s*pool: (\S+)/m.exec(block)?.[1];
    if (!pool) continue;
    const field2 = (k) => new RegExp(`^\\s*${k}: (.*(?:\\n\\t.*)*)`, "m").exec(block)?.[1]?.replace(/\n\t/g, " ").trim();
    const devices = [];
    const config = /^config:\n\s*\n([\s\S]*?)(?=\n\s*\n|\nerrors:|(?![\s\S]))/m.exec(block)?.[1] ?? "";
    let base;
    for (const line of config.split("\n")) {
      const m = /^(\s*)(\S+)\s+(ONLINE|DEGRADED|FAULTED|OFFLINE|UNAVAIL|REMOVED|AVAIL|INUSE|SUSPENDED)\s*(\S+)?\s*(\S+)?\s*(\S+)?\s*(.*)$/.exec(line);
      if (!m) continue;
      const indent = m[1].replace(/\t/g, "        ").length;
      base ??= indent;
      devices.push({ name: m[2], depth: Math.round((indent - base) / 2), state: m[3], read: m[4] ?? "", write: m[5] ?? "", cksum: m[6] ?? "", note: m[7]?.trim() || void 0 });
    }
    pools.push({ pool, state: field2("state") ?? "", status: field2("status"), action: field2("action"), errors: /^errors: (.*)$/m.exec(block)?.[1]?.trim(), devices });
  }
  return pools;
}
function zpoolProblems(s) {
  const p = [];
  if (s.state !== "ONLINE") p.push(`pool ${s.pool} is ${s.state || "in an unknown state"}`);
  for (const d of s.devices) {
    if (d.state !== "ONLINE") p.push(`${d.name} is ${d.state}${d.note ? ` (${d.note})` : ""}`);
    for (const [k, v] of [["read", d.read], ["write", d.write], ["checksum", d.cksum]]) {
      if (v !== "" && v !== "0") p.push(`${d.name} has ${v} ${k} errors`);
    }
  }
  if (s.errors !== void 0 && s.errors !== "No known data errors") p.push(`errors: ${s.errors}`);
  return p;
}
function parseColumns(out2, names) {
  const lines = out2.split("\n").filter((l) => l.trim());
  if (!lines.length) return [];
  const header = names ?? lines[0].trim().split(/\s+/).map((h2) => h2.toLowerCase());
  return lines.slice(1).map((l) => {
    const cells = l.trim().split(/\s+/);
    return Object.fromEntries(header.map((h2, i2) => [h2, i2 === header.length - 1 ? cells.slice(i2).join(" ") : cells[i2] ?? ""]));
  });
}
function parseMountLines(out2) {
  return [...out2.matchAll(/^(\S+) on (\S+) type (\S+) \(([^)]*)\)$/gm)].map((m) => ({ source: m[1], target: m[2], fsType: m[3], options: m[4].split(",") }));
}
function parseLsblkJson(out2) {
  const j = JSON.parse(out2);
  if (!Array.isArray(j.blockdevices)) throw new Error('lsblk --json printed no "blockdevices" array');
  return j.blockdevices.map((d) => ({ ...d, serial: d.serial?.trim() ?? null }));
}
function parseHardwareConfig(text) {
  const fileSystems = {};
  for (const m of text.matchAll(/fileSystems\."([^"]+)"\s*=\s*\{([^}]*)\}\s*;/g)) {
    const body = m[2];
    const options = /options\s*=\s*\[([^\]]*)\]/.exec(body)?.[1];
    fileSystems[m[1]] = {
      device: /device\s*=\s*"([^"]*)"/.exec(body)?.[1],
      fsType: /fsType\s*=\s*"([^"]*)"/.exec(body)?.[1],
      options: options ? [...options.matchAll(/"([^"]*)"/g)].map((x) => x[1]) : []
    };
  }
  const sf = /boot\.supportedFilesystems\s*=\s*\[([^\]]*)\]/.exec(text)?.[1];
  return { fileSystems, supportedFilesystems: sf ? [...sf.matchAll(/"([^"]*)"/g)].map((x) => x[1]) : [] };
}

// src/verify/parsers.ts
function parseGenerations(out2) {
  return [...out2.matchAll(/^\s*(\d+)\s+(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\s*(\(current\))?\s*$/gm)].map((m) => ({ number: +m[1], date: m[2], current: !!m[3] }));
}
function parseTimespan(s) {
  const units = { y: 315576e5, month: 26298e5, w: 6048e5, d: 864e5, h: 36e5, min: 6e4, s: 1e3, ms: 1, us: 1e-3, "\xB5s": 1e-3 };
  let total = 0;
  let any = false;
  for (const m of s.trim().matchAll(/([\d.]+)\s*(month|min|ms|us|µs|y|w|d|h|s)\b/g)) {
    total += Number(m[1]) * units[m[2]];
    any = true;
  }
  if (!any) throw new Error(`not a systemd timespan: '${s}'`);
  return Math.round(total * 1e3) / 1e3;
}
function parseAnalyzeTime(out2) {
  const line = /Startup finished in (.*?) = ([^\n]+)/.exec(out2);
  if (!line) throw new Error(`systemd-analyze time printed no "Startup finished in": ${out2.trim().slice(0, 200)}`);
  const phases = {};
  for (const part2 of line[1].split(" + ")) {
    const m = /^(.*) \(([\w-]+)\)$/.exec(part2.trim());
    if (m) phases[m[2]] = parseTimespan(m[1]);
  }
  const reached = /^(\S+) reached after (.*) in userspace/m.exec(out2);
  return { phases, totalMs: parseTimespan(line[2]), target: reached?.[1], targetMs: reached ? parseTimespan(reached[2]) : void 0 };
}
function parseBlame(out2) {
  const rows = [];
  for (const line of out2.split("\n")) {
    const m = /^\s*(.+?)\s+(\S+\.(?:service|mount|device|target|socket|swap|timer|path|scope|slice))\s*$/.exec(line);
    if (m) rows.push({ unit: m[2], ms: parseTimespan(m[1]) });
  }
  return rows;
}
function parseFailedUnits(out2) {
  return failedUnitsLines(out2).map((l) => {
    const [unit = "", load2 = "", active = "", sub = "", ...d] = l.split(/\s+/);
    return { unit, load: load2, active, sub, description: d.join(" ") };
  }).filter((u2) => UNIT_NAME.test(u2.unit));
}
function failedUnitsUnread(out2) {
  return failedUnitsLines(out2).filter((l) => !UNIT_NAME.test(l.split(/\s+/)[0] ?? ""));
}
var UNIT_NAME = /\.\w+$/;
var FAILED_LEGEND = /^(UNIT\s|\d+ loaded units? listed|Legend:|(LOAD|ACTIVE|SUB)\s+[=→]|To show all|Pass --all)/;
function failedUnitsLines(out2) {
  return out2.split("\n").map((l) => l.replace(/^[●*×]\s*/, "").trim()).filter((l) => l && !FAILED_LEGEND.test(l));
}
function parseLoaderDefault(loaderConf) {
  return /^default\s+(\S+)/m.exec(loaderConf)?.[1];
}
function parseBootctlList(out2) {
  const text = out2.trim();
  if (text.startsWith("[")) return JSON.parse(text);
  return text.split("\n").map((l) => l.replace(/^\x1e/, "").trim()).filter(Boolean).map((l) => JSON.parse(l));
}
var GLOBAL = "8be4df61-93ca-11d2-aa0d-00e098032b8c";
function guid(b, o2) {
  const h2 = (x) => x.toString("hex");
  const le = (start, len) => h2(Buffer.from(b.subarray(o2 + start, o2 + start + len)).reverse());
  return `${le(0, 4)}-${le(4, 2)}-${le(6, 2)}-${h2(b.subarray(o2 + 8, o2 + 10))}-${h2(b.subarray(o2 + 10, o2 + 16))}`;
}
function ucs2z(b, o2, end) {
  let i2 = o2;
  while (i2 + 1 < end && (b[i2] !== 0 || b[i2 + 1] !== 0)) i2 += 2;
  return { text: b.subarray(o2, i2).toString("utf16le"), next: i2 + 2 };
}
function parseEfiVars(dump) {
  const vars = /* @__PURE__ */ new Map();
  for (const line of dump.split("\n")) {
    const m = /^(\S+)\s+([A-Za-z0-9+/=]*)$/.exec(line.trim());
    if (m && m[1].endsWith(`-${GLOBAL}`)) vars.set(m[1].slice(0, -GLOBAL.length - 1), Buffer.from(m[2], "base64").subarray(4));
  }
  const hex4 = (n2) => n2.toString(16).toUpperCase().padStart(4, "0");
  const cur = vars.get("BootCurrent");
  const ord = vars.get("BootOrder");
  const order = [];
  for (let i2 = 0; ord && i2 + 1 < ord.length; i2 += 2) order.push(hex4(ord.readUInt16LE(i2)));
  const entries = [];
  for (const [name, b] of [...vars].sort()) {
    if (!/^Boot[0-9A-F]{4}$/.test(name) || b.length < 6) continue;
    const attrs = b.readUInt32LE(0);
    const pathLen = b.readUInt16LE(4);
    const desc = ucs2z(b, 6, b.length);
    const e = { num: name.slice(4), active: (attrs & 1) === 1, label: desc.text };
    let o2 = desc.next;
    const end = Math.min(b.length, o2 + pathLen);
    while (o2 + 4 <= end) {
      const type = b[o2];
      const sub = b[o2 + 1];
      const len = b.readUInt16LE(o2 + 2);
      if (len < 4) break;
      if (type === 4 && sub === 1 && len >= 42 && b[o2 + 41] === 2) e.partuuid = guid(b, o2 + 24);
      if (type === 4 && sub === 4) e.file = ucs2z(b, o2 + 4, o2 + len).text;
      if (type === 127 && sub === 255) break;
      o2 += len;
    }
    entries.push(e);
  }
  return { current: cur && cur.length >= 2 ? hex4(cur.readUInt16LE(0)) : void 0, order, entries };
}
function parseLoaderVar(b64) {
  return Buffer.from(b64.trim(), "base64").subarray(4).toString("utf16le").replace(/\0+$/, "");
}
var LOADER_ENTRY_SELECTED = "base64 -w0 < /sys/firmware/efi/efivars/LoaderEntrySelected-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f";
var EFI_VARS_DUMP = `cd /sys/firmware/efi/efivars && for f in BootCurrent-${GLOBAL} BootOrder-${GLOBAL} Boot[0-9A-F][0-9A-F][0-9A-F][0-9A-F]-${GLOBAL}; do [ -e "$f" ] && printf '%s %s\\n' "$f" "$(base64 -w0 < "$f")"; done`;
var NIX = "nix --extra-experimental-features 'nix-command flakes'";
var CLOSURE_SIZE_COMMAND = `${NIX} path-info -Sh /run/current-system`;
function parsePathInfoSize(out2) {
  const m = /^(\/nix\/store\/\S+)\s+([\d.]+) ([KMGTPE])iB\s*$/m.exec(out2);
  if (!m) throw new Error(`nix path-info -Sh printed no size: ${out2.trim().slice(0, 200)}`);
  const power = "KMGTPE".indexOf(m[3]) + 1;
  return { path: m[1], bytes: Math.round(Number(m[2]) * 1024 ** power), text: `${m[2]} ${m[3]}iB` };
}
function privateKeyNeedle(keyFile) {
  const lines = keyFile.split("\n").map((l) => l.trim());
  const begin = lines.indexOf("-----BEGIN OPENSSH PRIVATE KEY-----");
  const end = lines.indexOf("-----END OPENSSH PRIVATE KEY-----");
  if (begin < 0 || end < begin + 2) throw new Error("not an OpenSSH private key file (no BEGIN/END OPENSSH PRIVATE KEY lines)");
  const body = lines.slice(begin + 1, end);
  const bytes = Buffer.from(body.join(""), "base64");
  let o2 = 0;
  const u322 = () => {
    const v = bytes.readUInt32BE(o2);
    o2 += 4;
    return v;
  };
  const str2 = () => {
    const n3 = u322();
    const s = bytes.subarray(o2, o2 + n3);
    o2 += n3;
    return s;
  };
  const magic = "openssh-key-v1\0";
  if (bytes.subarray(0, magic.length).toString("latin1") !== magic) throw new Error("not an OpenSSH private key (no openssh-key-v1 magic)");
  o2 = magic.length;
  const cipher = str2().toString();
  str2();
  str2();
  const n2 = u322();
  for (let i2 = 0; i2 < n2; i2++) str2();
  u322();
  let target;
  if (cipher !== "none") {
    target = o2 + Math.floor((bytes.length - o2) / 2);
  } else {
    o2 += 8;
    const type = str2().toString();
    if (type === "ssh-ed25519") {
      str2();
      target = o2 + 4 + 16;
    } else {
      target = o2 + Math.floor((bytes.length - o2) / 2);
    }
  }
  const width = body[0].length;
  const line = Math.min(body.length - 1, Math.floor(target * 4 / 3 / width));
  return body[line];
}
function parseIpAddrJson(text) {
  const start = text.indexOf("[");
  if (start < 0) throw new Error(`not ip -j addr output: ${text.trim().slice(0, 200) || "(nothing)"}`);
  const raw = JSON.parse(text.slice(start));
  if (!Array.isArray(raw)) throw new Error("ip -j addr output is not a list");
  return raw.map((r) => ({
    name: r.ifname ?? "?",
    state: r.operstate ?? "?",
    mac: r.address ?? "",
    inet: (r.addr_info ?? []).filter((a2) => a2.family === "inet" && a2.local).map((a2) => `${a2.local}/${a2.prefixlen}`)
  }));
}

// src/upgrade/changes.ts
var versions = (s) => s.trim() === "\u2205" ? [] : s.split(", ").map((v) => v === "\u03B5" ? "" : v);
function parseDiffClosures(output2) {
  const packages = [];
  for (const raw of stripAnsi(output2).split("\n")) {
    const line = raw.trimEnd();
    const m = /^(\S[^:]*): (.+)$/.exec(line);
    if (!m) continue;
    let rest = m[2];
    let sizeDelta;
    const size = /(?:^|, )([+-]\d+(?:\.\d+)?) KiB$/.exec(rest);
    if (size) {
      sizeDelta = Math.round(Number(size[1]) * 1024);
      rest = rest.slice(0, size.index);
    }
    const arrow = rest.indexOf(" \u2192 ");
    if (arrow < 0 && sizeDelta === void 0) continue;
    packages.push({ name: m[1], removed: arrow < 0 ? [] : versions(rest.slice(0, arrow)), added: arrow < 0 ? [] : versions(rest.slice(arrow + 3)), ...sizeDelta !== void 0 ? { sizeDelta } : {} });
  }
  return { packages, sizeDelta: packages.reduce((n2, p) => n2 + (p.sizeDelta ?? 0), 0) };
}
var UNIT_LINES = [
  ["stopped", /^stopping the following units: (.*)$/],
  ["restarted", /^restarting the following units: (.*)$/],
  ["started", /^starting the following units: (.*)$/],
  ["reloaded", /^reloading the following units: (.*)$/],
  ["newlyStarted", /^the following new units were started: (.*)$/],
  ["failed", /^warning: the following units failed: (.*)$/]
];
function parseUnitChanges(switchOutput) {
  const out2 = { stopped: [], restarted: [], started: [], reloaded: [], newlyStarted: [], failed: [] };
  for (const line of stripAnsi(switchOutput).split("\n")) {
    for (const [k, re] of UNIT_LINES) {
      const m = re.exec(line.trim());
      if (m) {
        for (const u2 of m[1].split(",").map((s) => s.trim()).filter(Boolean)) if (!out2[k].includes(u2)) out2[k].push(u2);
      }
    }
  }
  return out2;
}
var BOOT_LINKS = ["kernel", "initrd", "kernel-modules", "systemd"];
function bootLinksCommand(system) {
  return BOOT_LINKS.map((l) => `printf '${l}=%s\\n' "$(readlink ${system}/${l} 2>/dev/null)"`).join("; ");
}
function parseBootLinks(out2) {
  const r = {};
  for (const line of out2.split("\n")) {
    const m = /^(kernel|initrd|kernel-modules|systemd)=(.*)$/.exec(line.trim());
    if (m) r[m[1]] = m[2];
  }
  return r;
}
function needsReboot(booted, next) {
  const because = BOOT_LINKS.filter((l) => (booted[l] ?? "") !== (next[l] ?? ""));
  return { needed: because.length > 0, because: [...because] };
}

// src/verify/checks.ts
var STORE_PATH = /^\/nix\/store\/[0-9a-z]{32}-\S+$/;
var shortName = (p) => p.trim().replace(/^\/nix\/store\/[^-]+-/, "");
var pass = (id, summary, evidence, figures2) => ({ id, status: "pass", summary, evidence: evidence.trim(), figures: figures2 });
var fail = (id, reason, summary, evidence, figures2) => ({ id, status: "fail", reason, summary, evidence: evidence.trim(), figures: figures2 });
function guarded(id, evidence, f) {
  try {
    return f();
  } catch (e) {
    return fail(id, "unreadable", `could not read the output: ${e.message}`, evidence);
  }
}
function checkBootedSystem(installed2, current, booted) {
  const ev = `installed: ${installed2}
/run/current-system -> ${current}
/run/booted-system -> ${booted}`;
  if (!STORE_PATH.test(installed2.trim())) return fail("booted-system", "install-unknown", "the installed system is unknown (system-1-link was not read)", ev);
  if (current.trim() !== installed2.trim()) return fail("booted-system", "not-current", "the running system is not the one that was installed", ev);
  if (booted.trim() !== installed2.trim()) return fail("booted-system", "not-booted", "/run/booted-system is not the installed system", ev);
  return pass("booted-system", `running the installed system ${shortName(installed2)}`, ev);
}
function checkBootEntries(entries, loaderConf, evidence, wantDefault) {
  const def = parseLoaderDefault(loaderConf);
  const ids = entries.map((e) => e.id);
  const ev = `${evidence}
--- loader.conf ---
${loaderConf}`;
  if (!ids.includes(wantDefault)) return fail("boot-entries", "no-entry", `no boot entry ${wantDefault} (entries: ${ids.join(", ") || "none"})`, ev);
  if (def !== wantDefault) return fail("boot-entries", "wrong-default", `loader.conf default is ${def ?? "unset"}, not ${wantDefault}`, ev);
  return pass("boot-entries", `${ids.length} entr${ids.length === 1 ? "y" : "ies"} on the ESP; default ${def}`, ev, { entries: ids.length });
}
function checkBootEntriesOutput(listJson, loaderConf, wantDefault) {
  return guarded("boot-entries", listJson, () => checkBootEntries(parseBootctlList(listJson), loaderConf, listJson, wantDefault));
}
function checkGenerations(listOut, wantCurrent, wantAtLeast = 1, id = "generations") {
  return guarded(id, listOut, () => {
    const gens = parseGenerations(listOut);
    const cur = gens.find((g) => g.current);
    if (gens.length < wantAtLeast) return fail(id, id === "rebuild-generations" ? "no-new-generation" : "too-few-generations", `${gens.length} generation(s), expected at least ${wantAtLeast}`, listOut);
    if (!cur) return fail(id, "none-current", "no generation is current", listOut);
    if (cur.number !== wantCurrent) return fail(id, "wrong-current", `generation ${cur.number} is current, expected ${wantCurrent}`, listOut);
    return pass(id, `${gens.length} generation(s); generation ${cur.number} is current`, listOut, { generations: gens.length, current: cur.number });
  });
}
function checkPoolHealth(statusX) {
  const text = statusX.trim();
  if (text === "all pools are healthy") return pass("pool-health", "all pools are healthy", text);
  if (/no pools available/.test(text)) return fail("pool-health", "no-pool", "no pool is imported", text);
  const pools = parseZpoolStatus(text);
  const problems = pools.flatMap(zpoolProblems);
  return fail("pool-health", "unhealthy", problems.length ? problems.join("; ") : "zpool status -x reports a problem", text);
}
function checkExt4Health(out2, exitCode) {
  if (exitCode !== 0) return healthCheckFailed("ext4", out2, exitCode);
  const state = /^Filesystem state:\s+(.*?)\s*$/m.exec(out2)?.[1];
  if (state !== "clean") return fail("pool-health", "unhealthy", `ext4 file system state is ${state ? `"${state}"` : "unknown"}, not clean`, out2);
  return pass("pool-health", "ext4: file system state clean", out2);
}
function checkBtrfsHealth(out2, exitCode) {
  if (exitCode !== 0) return healthCheckFailed("btrfs", out2, exitCode);
  const counters = [...out2.matchAll(/^\[[^\]]+\]\.(\w+)\s+(\d+)\s*$/gm)];
  if (!counters.length) return fail("pool-health", "unreadable", "btrfs device stats printed no counters", out2);
  const bad = counters.filter((m) => m[2] !== "0").map((m) => `${m[1]} ${m[2]}`);
  if (bad.length) return fail("pool-health", "unhealthy", `btrfs device stats show errors (${bad.join(", ")})`, out2);
  return pass("pool-health", "btrfs: no device errors", out2);
}
var healthCheckFailed = (fsType, out2, exitCode) => fail("pool-health", "check-failed", `${fsType} health check failed (exit ${exitCode})`, out2);
function checkBootTime(timeOut, blameOut) {
  const ev = `${timeOut.trim()}
--- blame (top 5) ---
${blameOut.trim().split("\n").slice(0, 5).join("\n")}`;
  return guarded("boot-time", ev, () => {
    const t = parseAnalyzeTime(timeOut);
    const top = parseBlame(blameOut).slice(0, 5);
    const figures2 = { totalMs: t.totalMs, ...Object.fromEntries(Object.entries(t.phases).map(([k, v]) => [`${k}Ms`, v])) };
    if (top[0]) figures2.slowestUnit = `${top[0].unit} ${top[0].ms} ms`;
    return pass("boot-time", `startup ${(t.totalMs / 1e3).toFixed(1)} s${t.target ? `; ${t.target} after ${((t.targetMs ?? 0) / 1e3).toFixed(1)} s in userspace` : ""}`, ev, figures2);
  });
}
function checkFailedUnits(out2, id = "failed-units") {
  const units = parseFailedUnits(out2);
  if (units.length) return fail(id, "units-failed", `${units.length} failed unit(s): ${units.map((u2) => u2.unit).join(", ")}`, out2, { failed: units.length });
  const unread = failedUnitsUnread(out2);
  if (unread.length) return fail(id, "unreadable", `could not read systemctl --failed: ${unread[0]}`, out2);
  return pass(id, "no failed units", out2 || "0 loaded units listed.", { failed: 0 });
}
function checkSshd(show, id = "sshd") {
  const p = parseKeyValue(show);
  if (p.ActiveState === "active" && p.SubState === "running") return pass(id, "sshd is active (running)", show);
  return fail(id, "not-running", `sshd is ${p.ActiveState ?? "unknown"} (${p.SubState ?? "unknown"})`, show);
}
function checkSshLogin(exitCode, stdout, stderr, user, host) {
  const ev = `exit ${exitCode}
${stdout}
${stderr}`.trim();
  if (exitCode === 0 && stdout.trim() === `${user}@${host}`) return pass("ssh-login", `logged in over SSH as ${user} with this run's key`, ev);
  return fail("ssh-login", /Permission denied/.test(`${stdout}
${stderr}`) ? "refused" : "unreachable", `SSH login as ${user} with this run's key failed`, ev);
}
function checkPasswordRefused(t) {
  const evidence = `ssh ${t.user}@vm with its password (public keys off): exit ${t.exitCode}
${t.stderr}${t.stdout ? `
stdout: ${t.stdout}` : ""}`;
  if (t.exitCode === 0 && t.stdout.includes(t.marker)) {
    return fail("password-login-refused", "password-accepted", `a password login as ${t.user} got in`, evidence);
  }
  const methods = /Permission denied \(([^)]*)\)/.exec(t.stderr)?.[1];
  if (t.exitCode !== 0 && methods !== void 0) {
    return pass("password-login-refused", `a password login as ${t.user} (who has a password) was refused; the server offers: ${methods}`, evidence);
  }
  return fail("password-login-refused", "unreachable", `could not try a password login: ${t.stderr.trim().split("\n").pop() || `ssh exited ${t.exitCode}`}`, evidence);
}
function checkVmNetwork(ipJson, nic) {
  return guarded("vm-network", ipJson, () => {
    const ifs = parseIpAddrJson(ipJson);
    const list = (xs) => xs.map((i2) => `${i2.name} ${i2.state}${i2.inet.length ? ` ${i2.inet.join(" ")}` : ""}`).join("; ");
    const it = ifs.find((i2) => i2.mac.toLowerCase() === nic.mac.toLowerCase());
    if (!it) return fail("vm-network", "no-nic", `no interface has QEMU's MAC ${nic.mac} (interfaces: ${list(ifs) || "none"})`, ipJson);
    const want = `${nic.address}/${nic.prefixLength}`;
    if (!it.inet.includes(want)) {
      return fail("vm-network", "no-address", `QEMU's NIC ${it.name} (MAC ${nic.mac}, ${it.state}) does not have ${want}${it.inet.length ? `: it has ${it.inet.join(", ")}` : ": it has no IPv4 address"}`, list(ifs));
    }
    return pass("vm-network", `QEMU's NIC ${it.name} (MAC ${nic.mac}) has ${want}`, list(ifs));
  });
}
function checkEfiBootEntry(dump, espPartuuids) {
  return guarded("efi-boot-entry", dump, () => {
    const v = parseEfiVars(dump);
    const efibootmgr = [`BootCurrent: ${v.current ?? "unset"}`, `BootOrder: ${v.order.join(",")}`, ...v.entries.map((e) => `Boot${e.num}${e.active ? "*" : " "} ${e.label}	${e.partuuid ? `HD(GPT,${e.partuuid})` : ""}${e.file ? `/File(${e.file})` : ""}`), "--- efivarfs ---", dump.trim()].join("\n");
    const cur = v.entries.find((e) => e.num === v.current);
    const ours = v.entries.filter((e) => e.partuuid && espPartuuids.includes(e.partuuid) && /systemd-bootx64\.efi/i.test(e.file ?? ""));
    if (!ours.length) return fail("efi-boot-entry", "no-entry", "no firmware boot entry points at systemd-boot on the installed ESP", efibootmgr);
    if (!cur) return fail("efi-boot-entry", "not-listed", `BootCurrent ${v.current ?? "unset"} is not a listed entry`, efibootmgr);
    if (!ours.includes(cur)) {
      const how = /\\EFI\\BOOT\\BOOTX64\.EFI/i.test(cur.file ?? "") || !cur.file ? "the removable-media fallback (\\EFI\\BOOT\\BOOTX64.EFI)" : cur.file ?? "?";
      return fail("efi-boot-entry", "not-installed-entry", `booted through ${cur.label} via ${how}, not the installed entry Boot${ours[0].num} (${ours[0].label})`, efibootmgr);
    }
    const first = v.order[0] === cur.num;
    return pass("efi-boot-entry", `booted Boot${cur.num} "${cur.label}" (${cur.file}) on the installed ESP${first ? ", first in BootOrder" : ""}`, efibootmgr, { bootCurrent: cur.num });
  });
}
function checkDiskSpace(dfOut) {
  return guarded("disk-space", dfOut, () => {
    const rows = /* @__PURE__ */ new Map();
    for (const line of dfOut.split("\n").slice(1)) {
      const m = /^\S+\s+\d+\s+\d+\s+\d+\s+(\d+)%\s+(\/\S*)\s*$/.exec(line.trim());
      if (m) rows.set(m[2], Number(m[1]));
    }
    if (!rows.size) throw new Error("df printed no file system");
    const figures2 = Object.fromEntries([...rows].map(([at, pct]) => [at, pct]));
    const text = [...rows].map(([at, pct]) => `${at} ${pct}% used`).join(", ");
    const full = [...rows].filter(([, pct]) => pct >= 90);
    return full.length ? fail("disk-space", "nearly-full", `nearly full: ${full.map(([at, pct]) => `${at} ${pct}%`).join(", ")}`, dfOut, figures2) : pass("disk-space", text, dfOut, figures2);
  });
}
function checkClosureSize(out2) {
  return guarded("closure-size", out2, () => {
    const s = parsePathInfoSize(out2);
    return pass("closure-size", `closure of the running system: ${s.text}`, out2, { bytes: s.bytes });
  });
}
function checkSecretsNotInStore(grepExit, grepOut) {
  if (grepExit === 1) return pass("secrets-not-in-store", "neither the runtime secret nor this run's private key appears under /nix/store", grepOut || "(grep found nothing)");
  if (grepExit === 0) return fail("secrets-not-in-store", "secret-found", `a secret appears in the store: ${grepOut.trim().split("\n").slice(0, 5).join(", ")}`, grepOut);
  return fail("secrets-not-in-store", "search-failed", `searching the store failed (grep exit ${grepExit})`, grepOut);
}
function checkRebuildBuild(e) {
  const [before, built2] = [e.before.trim(), e.built.trim()];
  const untouched = e.currentAfter.trim() === before && e.markerAfter.trim() === (e.wantMarker ?? "1");
  if (e.exitCode !== 0) return fail("rebuild-build", "build-failed", `nixos-rebuild build failed (exit ${e.exitCode})`, e.output);
  if (!untouched) return fail("rebuild-build", "changed-running-system", "nixos-rebuild build changed the running system", e.output);
  if (!STORE_PATH.test(built2) || built2 === before) return fail("rebuild-build", "no-new-system", "nixos-rebuild build made no new system", e.output);
  return pass("rebuild-build", `nixos-rebuild build made ${shortName(built2)}; the running system is untouched`, e.output);
}
function checkRebuildSwitch(exitCode, output2, marker, wantMarker = "2") {
  const gen = marker.trim();
  if (exitCode !== 0) return fail("rebuild-switch", "switch-failed", `nixos-rebuild switch failed (exit ${exitCode})`, output2);
  if (gen !== wantMarker) return fail("rebuild-switch", "change-not-visible", `the change is not visible (/etc/nixos-rehearse/generation = ${gen || "missing"})`, output2);
  return pass("rebuild-switch", `nixos-rebuild switch activated generation ${wantMarker}: the change is visible (/etc/nixos-rehearse/generation = ${wantMarker})`, output2);
}
function leftoverFailedUnits(switchOutput) {
  const failed = parseUnitChanges(switchOutput).failed;
  if (!failed.length) return void 0;
  const text = stripAnsi(switchOutput);
  const esc = (u2) => u2.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const gone = (u2) => new RegExp(String.raw`^[×●○] ${esc(u2)}(?: - [^\n]*)?\n\s+Loaded: not-found`, "m").test(text);
  return failed.every(gone) ? failed : void 0;
}
function checkRollbackInPlace(exitCode, output2, marker, links) {
  const gen = marker.trim();
  const ev = links ? `${output2.trim()}
--- after ---
/run/current-system -> ${links.current.trim()}
system-1-link -> ${links.gen1.trim()}` : output2;
  const leftover = exitCode === 4 ? leftoverFailedUnits(output2) : void 0;
  if (exitCode !== 0 && !leftover) return fail("rollback-in-place", "rollback-failed", `nixos-rebuild switch --rollback failed (exit ${exitCode})`, ev);
  if (gen !== "1") return fail("rollback-in-place", "change-still-there", `the change is still there (/etc/nixos-rehearse/generation = ${gen})`, ev);
  if (links && (!STORE_PATH.test(links.gen1.trim()) || links.current.trim() !== links.gen1.trim())) {
    return fail("rollback-in-place", "not-generation-1", `/run/current-system is not generation 1 after the rollback (${shortName(links.current) || "unreadable"})`, ev);
  }
  const note = leftover ? ` (it exits 4: ${leftover.join(", ")}, failed in the generation rolled back from and gone from generation 1, stay listed as failed until \`systemctl reset-failed\`)` : "";
  return pass("rollback-in-place", `nixos-rebuild switch --rollback: generation 1 is current again and the change is gone${note}`, ev);
}
function checkRollbackAtBoot(e) {
  const [booted, gen1, marker] = [e.booted.trim(), e.gen1.trim(), e.marker.trim()];
  const ev = `${e.oneshot.trim()}
--- after reboot ---
LoaderEntrySelected: ${e.selected}
loader.conf default: ${e.defaultEntry}
/run/booted-system -> ${booted}
system-1-link -> ${gen1}
/etc/nixos-rehearse/generation: ${marker}`;
  const ranGen1 = STORE_PATH.test(gen1) && booted === gen1;
  if (ranGen1 && e.selected === "nixos-generation-1.conf" && e.defaultEntry === "nixos-generation-2.conf" && marker === "1") {
    return pass("rollback-at-boot", "booted generation 1 from the boot menu (bootctl set-oneshot; systemd-boot reports nixos-generation-1.conf selected) while generation 2 is the default", ev);
  }
  return fail("rollback-at-boot", "not-generation-1", `choosing generation 1 at boot did not run it: systemd-boot selected ${e.selected || "nothing"}, /run/booted-system ${ranGen1 ? "is" : "is not"} generation 1, the default is ${e.defaultEntry}`, ev);
}
function checkEntriesRetained(listJson) {
  return guarded("rollback-entries-retained", listJson, () => {
    const n2 = parseBootctlList(listJson).filter((e) => /^nixos-generation-\d+\.conf$/.test(e.id)).length;
    return n2 >= 2 ? pass("rollback-entries-retained", `${n2} generations are still in the boot menu`, listJson, { entries: n2 }) : fail("rollback-entries-retained", "too-few-generations", `only ${n2} generation in the boot menu: no last-known-good to fall back to`, listJson);
  });
}

// src/roots/shared.ts
var part = (disk, n2) => `${disk}${/\d$/.test(disk) ? "p" : ""}${n2}`;
var dataPartition = (ctx) => part(ctx.disks[0], 2);
var props = (flag, p) => Object.entries(p).map(([k, v]) => `${flag} ${k}=${v}`).join(" ");
function mkfsStep(fsType, mkfs) {
  return {
    commands: (ctx) => [mkfs(ctx.root.label, dataPartition(ctx)), `sudo blkid -o export ${dataPartition(ctx)}`],
    check: (outs, ctx) => new RegExp(`^TYPE=${fsType}$`, "m").test(outs[outs.length - 1] ?? "") ? [] : [`${dataPartition(ctx)} is not ${fsType}`]
  };
}
var STORAGE_FREE_SPACE = {
  id: "storage",
  title: "Storage health (free space on /, /nix and the ESP)",
  command: "df -h / /nix /boot",
  decision: "If / or /nix is nearly full, /nix is growing: set a GC policy and generation retention, and monitor free space. On Btrfs, watch for free space behavior.",
  runbook: "Fast diagnosis playbook: storage health; Ext4/Btrfs differences; Common mistakes 4"
};

// src/roots/btrfs.ts
var btrfs = {
  kind: "btrfs",
  title: "Btrfs file system with subvolumes",
  fsType: "btrfs",
  create: mkfsStep("btrfs", (label, dev) => `sudo mkfs.btrfs -f -L ${label} ${dev}`),
  layout: {
    commands: (ctx) => [
      `sudo mount ${dataPartition(ctx)} /mnt`,
      ...ctx.root.subvolumes.map((s) => `sudo btrfs subvolume create /mnt/${s}`),
      "sudo btrfs subvolume list /mnt",
      "sudo umount /mnt"
    ],
    check: (outs, { root }) => {
      const list = outs[outs.length - 2] ?? "";
      return root.subvolumes.filter((s) => !new RegExp(`path ${s}$`, "m").test(list)).map((s) => `subvolume ${s} is missing`);
    }
  },
  mountNeedsType: false,
  health: { read: "btrfs device stats /", verdict: checkBtrfsHealth },
  playbookStorage: STORAGE_FREE_SPACE,
  powerOff: () => []
};

// src/roots/ext4.ts
var ROOT_DEVICE = "findmnt -no SOURCE / | sed 's/\\[.*\\]$//'";
var ext4 = {
  kind: "ext4",
  title: "ext4 file system",
  fsType: "ext4",
  create: mkfsStep("ext4", (label, dev) => `sudo mkfs.ext4 -F -L ${label} ${dev}`),
  layout: { commands: () => ["true # ext4: one file system, no datasets"], check: () => [] },
  mountNeedsType: false,
  health: { read: `tune2fs -l "$(${ROOT_DEVICE})"`, verdict: checkExt4Health },
  playbookStorage: STORAGE_FREE_SPACE,
  powerOff: () => []
};

// src/roots/zfs.ts
var STORAGE_ZFS = {
  id: "storage",
  title: "Storage health",
  command: "zpool status",
  decision: "If ZFS is degraded, your priority is device availability and data safety. Performance debugging can wait.",
  runbook: "Fast diagnosis playbook: storage health"
};
var zfs2 = {
  kind: "zfs",
  title: "ZFS pool with datasets",
  fsType: "zfs",
  create: {
    commands: ({ root: r, disks }) => {
      const vdevs = disks.map((d) => part(d, 2)).join(" ");
      return [
        `sudo zpool create -f ${props("-o", r.poolProperties)} ${props("-O", r.fsProperties)} ${r.pool} ${r.vdev === "mirror" ? "mirror " : ""}${vdevs}`,
        `sudo zpool status ${r.pool}`
      ];
    },
    check: (outs, { root: r, disks }) => {
      const pool = parseZpoolStatus(outs[outs.length - 1] ?? "").find((p) => p.pool === r.pool);
      if (!pool) return [`zpool status shows no pool ${r.pool}`];
      const problems = zpoolProblems(pool);
      const want = disks.map((d) => part(d, 2).replace("/dev/", ""));
      for (const w of want) if (!pool.devices.some((d) => d.name === w)) problems.push(`${w} is not in pool ${r.pool}`);
      if (r.vdev === "mirror" && !pool.devices.some((d) => /^mirror-\d+$/.test(d.name))) problems.push(`pool ${r.pool} has no mirror vdev`);
      return problems;
    }
  },
  layout: {
    commands: ({ root: r }) => [...r.datasets.map((d) => `sudo zfs create ${props("-o", d.properties)} ${d.name}`), "sudo zfs list -o name,mountpoint,compression"],
    check: (outs, { root: r }) => {
      const rows = parseColumns(outs[outs.length - 1] ?? "", ["name", "mountpoint", "compression"]);
      const problems = [];
      for (const d of [{ name: r.pool, properties: { mountpoint: "none" } }, ...r.datasets]) {
        const row = rows.find((x) => x.name === d.name);
        if (!row) problems.push(`dataset ${d.name} is missing`);
        else {
          if (d.properties.mountpoint && row.mountpoint !== d.properties.mountpoint) problems.push(`${d.name} has mountpoint ${row.mountpoint}, not ${d.properties.mountpoint}`);
          if (row.compression !== r.fsProperties.compression) problems.push(`${d.name} has compression ${row.compression}, not ${r.fsProperties.compression}`);
        }
      }
      return problems;
    }
  },
  mountNeedsType: true,
  devicesByName: "ZFS datasets by name",
  // NixOS derives boot.supportedFilesystems from each fileSystems' fsType; an explicit list (the
  // runbook's hardware config shows one) must include zfs when it exists.
  supportedFilesystem: "zfs",
  // `zpool status -x`: its text counts, not its exit code (checkPoolHealth).
  health: { read: "zpool status -x", verdict: (out2) => checkPoolHealth(out2) },
  playbookStorage: STORAGE_ZFS,
  // An exported pool is one the installed system can import at boot without -f.
  powerOff: (r) => [`if sudo zpool list ${r.pool} >/dev/null 2>&1; then sudo zpool export ${r.pool}; fi`]
};

// src/roots/index.ts
var ROOT_KINDS = { zfs: zfs2, ext4, btrfs };
function rootKindNamed(kind) {
  const k = ROOT_KINDS[kind];
  if (!k) throw new Error(`unknown root kind '${kind}'`);
  return k;
}
function rootKind(layout) {
  return rootKindNamed(layout.root.kind);
}

// src/diagnosis/playbook.ts
var WHAT_IS_RUNNING = {
  id: "what-is-running",
  title: "First: confirm what changed (is the running system the one you think it is?)",
  command: "readlink /run/current-system",
  decision: "If the store path isn\u2019t the expected one, stop guessing. Align the team on \u201Cwhat is running.\u201D",
  runbook: "Fast diagnosis playbook: first, confirm what changed"
};
var BOOT = {
  id: "boot",
  title: "Boot and initrd issues",
  command: "journalctl -b -p err --no-pager | tail -n 20",
  decision: "If mounts fail, you have a filesystem/dataset/mount ordering issue. Don\u2019t chase app logs yet.",
  runbook: "Fast diagnosis playbook: boot and initrd issues"
};
var NETWORK = {
  id: "network",
  title: "Network reachability",
  command: "ip -br a",
  decision: "If the interface isn\u2019t UP or has no address, fix network config before you blame DNS, TLS, or applications.",
  runbook: "Fast diagnosis playbook: network reachability"
};
var SERVICES = {
  id: "services",
  title: "Service health",
  command: "systemctl --failed --no-pager",
  decision: "Failed units tell you where to focus. Read the unit logs; don\u2019t restart blindly.",
  runbook: "Fast diagnosis playbook: service health"
};
var BOTTLENECK = {
  id: "bottleneck",
  title: "Third: find the bottleneck (CPU, IO, memory, or lock contention)",
  command: "top -b -n 1 | head -n 12",
  decision: "If IO wait is high, look at disk. If memory is low and swap absent, you may be heading toward OOM. If CPU is pegged, profile the service or scale.",
  runbook: "Fast diagnosis playbook: third, find the bottleneck"
};
var PLAYBOOK = [WHAT_IS_RUNNING, BOOT, STORAGE_ZFS, NETWORK, SERVICES, BOTTLENECK];
function playbookFor(layoutKind) {
  return PLAYBOOK.map((s) => s.id === "storage" ? rootKindNamed(layoutKind).playbookStorage : s);
}

// src/report.ts
var OUTPUT_TAIL_LINES = 40;
function tail(text, lines = OUTPUT_TAIL_LINES) {
  const all = text.replace(/\s+$/, "").split("\n");
  return all.slice(-lines).join("\n");
}
function progressLine(s) {
  const mark2 = s.status === "pass" ? "\u2713" : s.status === "fail" ? "\u2717" : "-";
  return `  ${mark2} ${s.id.padEnd(26)} ${s.title.length > 60 ? `${s.title.slice(0, 57)}...` : s.title.padEnd(60)} ${(s.durationMs / 1e3).toFixed(1).padStart(6)}s`;
}

// src/phases/failure.ts
async function runPlaybook(m, layoutKind) {
  const outs = [];
  for (const s of playbookFor(layoutKind)) {
    try {
      const r = await m.run(s.command, 60);
      outs.push({ id: s.id, title: s.title, command: s.command, exitCode: r.exitCode, output: tail(r.output, 60) });
    } catch (e) {
      outs.push({ id: s.id, title: s.title, command: s.command, exitCode: -1, output: `(no answer: ${e.message.split("\n")[0]})` });
      break;
    }
  }
  return outs;
}
async function afterFailure(ctx, m) {
  const alive = await m.alive();
  if (alive) {
    ctx.rec.info("running the fast diagnosis playbook in the guest");
    ctx.rec.playbook(await runPlaybook(m, ctx.layout.root.kind));
  }
  if (!alive || ctx.rec.report.playbook?.some((p) => p.exitCode === -1)) ctx.rec.stage(m.serialTail(200));
}

// src/phases/from-installed.ts
import { chmodSync as chmodSync2, copyFileSync as copyFileSync3, mkdirSync as mkdirSync7 } from "node:fs";
import path27 from "node:path";

// src/saved-install.ts
import { chmodSync, copyFileSync as copyFileSync2, existsSync as existsSync7, mkdirSync as mkdirSync6, readFileSync as readFileSync10, renameSync as renameSync3, rmSync as rmSync7, writeFileSync as writeFileSync7 } from "node:fs";
import path26 from "node:path";
function readSavedInstall(dir) {
  const file = path26.join(dir, "installed.json");
  if (!existsSync7(file)) throw new Error(`${dir} holds no installed system (no installed.json): make one with saveInstalled / --keep-installed`);
  const s = JSON.parse(readFileSync10(file, "utf8"));
  for (const d of s.disks) if (!existsSync7(d.file)) throw new Error(`${dir}: the installed disk ${d.file} is missing`);
  return s;
}
function saveInstall(dir, workDir, s, privateKey) {
  const target = path26.resolve(dir);
  rmSync7(target, { recursive: true, force: true });
  mkdirSync6(target, { recursive: true });
  for (const d of s.disks) moveFile(path26.join(workDir, `${d.id}.qcow2`), d.file);
  copyFileSync2(path26.join(workDir, "efivars.fd"), s.efiVars);
  copyFileSync2(privateKey, s.sshPrivateKeyFile);
  chmodSync(s.sshPrivateKeyFile, 384);
  writeFileSync7(path26.join(target, "installed.json"), `${JSON.stringify(s, null, 2)}
`);
}
function moveFile(from, to) {
  try {
    renameSync3(from, to);
  } catch (e) {
    if (e.code !== "EXDEV") throw e;
    copyFileSync2(from, to);
    rmSync7(from);
  }
}
async function overlayDisks(workDir, bases) {
  for (const b of bases) await createDisk(path26.join(workDir, path26.basename(b)), void 0, b);
}

// src/phases/from-installed.ts
async function fromInstalled(ctx, dir) {
  const saved = readSavedInstall(dir);
  if (saved.layout !== ctx.layout.name) throw new RehearseError("input", `${dir} holds a ${saved.layout} install, not ${ctx.layout.name}`, { dir, kept: saved.layout, asked: ctx.layout.name });
  if (saved.host !== ctx.flake.host) throw new RehearseError("input", `${dir} holds an install of host ${saved.host}, not ${ctx.flake.host}`, { dir, kept: saved.host, asked: ctx.flake.host });
  ctx.rec.set({ installedFrom: dir, injected: saved.injected });
  mkdirSync7(ctx.workDir, { recursive: true });
  for (const d of saved.disks) await createDisk(path27.join(ctx.workDir, `${d.id}.qcow2`), void 0, d.file);
  copyFileSync3(saved.efiVars, path27.join(ctx.workDir, "efivars.fd"));
  const key = path27.join(ctx.keyDir, "installed_ed25519");
  copyFileSync3(saved.sshPrivateKeyFile, key);
  chmodSync2(key, 384);
  ctx.disks = saved.disks.map((d) => ({ id: d.id, serial: d.serial }));
  const changed = ctx.fault.keptDisks?.(ctx.disks);
  if (changed) {
    ctx.disks = changed.disks;
    ctx.rec.set({ fault: { id: ctx.o.fault, what: changed.what } });
  }
  ctx.installed = {
    toplevel: saved.toplevel,
    espPartuuids: saved.espPartuuids,
    vmHardware: saved.vmHardware,
    sshPublicKey: saved.sshPublicKey,
    sshPrivateKeyFile: key
  };
  ctx.rec.info(`  starting from the installed system kept in ${dir} (${saved.savedAt})`);
}

// src/phases/install.ts
import { readFileSync as readFileSync11 } from "node:fs";

// src/diagnosis/runbook-text.ts
var COMMON_MISTAKES = {
  espNotMounted: {
    section: "Common mistakes 1",
    symptom: "Boot drops to firmware menu or \u201Cno bootable device.\u201D",
    cause: "ESP wasn\u2019t mounted at /mnt/boot during install, so bootloader entries were written to the wrong place (or not at all).",
    fix: "Boot ISO, mount root at /mnt, mount ESP at /mnt/boot, then reinstall bootloader via nixos-enter or rerun installation steps carefully."
  },
  poolNotImported: {
    section: "Common mistakes 2",
    symptom: "Emergency shell; errors about mounting root or missing pool.",
    cause: 'Missing boot.supportedFilesystems = [ "zfs" ];, wrong dataset names, or initrd not including ZFS bits.',
    fix: "Confirm hardware config includes ZFS support; rebuild; if already broken, boot older generation or use ISO to import pool and fix config."
  },
  sshDead: {
    section: "Common mistakes 3",
    symptom: "You can\u2019t SSH in after a rebuild; console shows system is up.",
    cause: "Network config drift (DHCP vs static), firewall rules changed declaratively, or sshd settings tightened without keys in place.",
    fix: "On console, check ip -br a, systemctl status sshd, and journalctl -u sshd. Revert generation if needed, then fix config with authorized keys and a staged rollout."
  },
  diskFilling: {
    section: "Common mistakes 4",
    symptom: "/nix grows until the system starts failing in weird ways.",
    cause: "Old generations and store paths accumulate; GC not configured; build artifacts kept.",
    fix: "Set a GC policy and generation retention; move /nix to its own dataset/partition; monitor free space."
  },
  rebuildSlow: {
    section: "Common mistakes 5",
    symptom: "Rebuilds are slow; CPU and disk churn.",
    cause: "Frequent source builds, missing binary cache access, or an overgrown configuration pulling too many dependencies.",
    fix: "Confirm you\u2019re using binary caches, prefer stable packages, and avoid compiling the world on production nodes."
  },
  secretInStore: {
    section: "Common mistakes 6",
    symptom: "A token shows up in /nix/store or can be read by unintended users.",
    cause: "You placed secrets directly in Nix expressions or created files at build time that land in the store.",
    fix: "Move secrets to runtime provisioning (tmpfiles, external secret manager, encrypted files decrypted at activation) and rotate compromised credentials."
  }
};
var DECISIONS = {
  // Tasks 1–10: the plan's steps' Decisions (runbook/plan.ts reads all of 1–13 from here).
  task1: { section: "Task 1", text: "If UEFI is missing, reboot and fix firmware settings. Don\u2019t install in legacy mode unless you have a very specific constraint." },
  task2: { section: "Task 2", text: "Choose the install target(s). If this is a mirrored boot setup, you want two disks. If it\u2019s a VM, one is fine." },
  task3: { section: "Task 3", text: "If you see an old messy layout and you\u2019re reinstalling, wipe the disk label cleanly (don\u2019t half-reuse partitions unless you\u2019re also writing a runbook for future-you)." },
  task4: { section: "Task 4", text: "Proceed only if you are absolutely sure you selected the right disk." },
  task5: { section: "Task 5", text: "If you\u2019re doing mirrored boot, you\u2019ll format an ESP on each disk and mount both (or use a sync approach). Single-disk is simpler." },
  task6: { section: "Task 6", text: "If you see anything but ONLINE with zero errors, stop. Fix cabling, disk health, or device paths. Do not \u201Ccontinue and hope.\u201D" },
  task7: { section: "Task 7", text: "Put /nix on its own dataset. It grows. It churns. You want to snapshot it differently than your persistent state." },
  task8: { section: "Task 8", text: "If /mnt/boot isn\u2019t mounted, your systemd-boot install will silently produce a system that doesn\u2019t boot. Fix it now." },
  task9: { section: "Task 9", text: "Treat hardware-configuration.nix as mostly machine-generated and stable; keep human intent in separate modules where possible." },
  task10: { section: "Task 10", text: "Keep ZFS dataset names stable. Do not rely on /dev/nvme0n1p2 in long-term configs unless you enjoy post-reboot surprises." },
  task11: { section: "Task 11", text: "If the build fails, fix it now while you still have the ISO environment. Don\u2019t \u201Cinstall and hope.\u201D" },
  task12: { section: "Task 12", text: "If bootloader install errors, do not reboot. Inspect /mnt/boot and your boot loader settings first." },
  task13: { section: "Task 13", text: "If the directory is empty, your ESP wasn\u2019t mounted during install. Mount it and reinstall bootloader from a chroot (or rerun install carefully)." },
  task14: { section: "Task 14", text: "If generations are missing or switching fails later, you probably have a broken bootloader install or a filesystem mount issue." },
  task15: { section: "Task 15", text: "If it reports degraded pools, failing devices, or checksum errors, treat it as urgent. ZFS tells the truth; people tend to negotiate with it anyway." },
  task16: { section: "Task 16", text: "If userspace is huge, inspect which units are blocking. If kernel is huge, it\u2019s often firmware, storage init, or initrd complexity." },
  task17: { section: "Task 17", text: "If it\u2019s not active, do not proceed with remote-only administration plans. Fix networking/sshd now while you still have console access." },
  task18: { section: "Task 18", text: "If you\u2019re disk-constrained, plan garbage collection and keep /nix on its own dataset or partition." },
  build: { section: "The safe upgrade pattern: build", text: "If build fails, you haven\u2019t touched the running system. Fix before switching." },
  switch: { section: "The safe upgrade pattern: switch", text: "Validate the specific things your business cares about (ports, API health, storage mounts). Don\u2019t trust \u201Cswitch succeeded.\u201D" },
  keepGenerations: { section: "Rollback you can do under pressure", text: "If you only keep one generation, you\u2019ve turned NixOS into a fancy package manager. Keep a few." },
  rollback: { section: "Rollback you can do under pressure", text: "If the system is in a bad state, prefer boot-time rollback. It resets more assumptions." },
  gc: { section: "Garbage collection without shooting yourself", text: "Before enabling automated GC, set a policy for how many generations you keep and how long. Disk is cheap; downtime is not." },
  secrets: { section: "Secrets: decide now, not later", text: "Do not store secrets in world-readable Nix store paths. The store is designed for reproducibility, not confidentiality." }
};

// src/runbook/plan.ts
var esp = (ctx) => part(ctx.disks[0], 1);
var data = (ctx) => part(ctx.disks[0], 2);
var rootCtx = (ctx) => ({ root: ctx.layout.root, disks: ctx.disks });
function source(m, ctx) {
  if (m.source === "{esp}") return esp(ctx);
  if (m.source === "{data}") return data(ctx);
  return m.source;
}
function mountCommands(ctx) {
  const out2 = [];
  const k = rootKind(ctx.layout);
  for (const m of ctx.layout.mounts) {
    const target = m.at === "/" ? "/mnt" : `/mnt${m.at}`;
    if (m.at !== "/") out2.push(`sudo mkdir -p ${target}`);
    const type = m.fsType === k.fsType && k.mountNeedsType ? `-t ${k.fsType} ` : "";
    const opts = m.options ? `-o ${m.options} ` : "";
    out2.push(`sudo mount ${type}${opts}${source(m, ctx)} ${target}`);
  }
  return out2;
}
function resolveDisks(lsblkJson, serials) {
  const devs = parseLsblkJson(lsblkJson).filter((d) => d.type === "disk");
  return serials.map((s) => {
    const hits = devs.filter((d) => d.serial === s);
    if (hits.length !== 1) {
      const seen2 = devs.map((d) => `${d.name}${d.serial ? ` (serial ${d.serial})` : ""}`).join(", ") || "none";
      throw new WrongDiskError(
        `wrong-disk guard: the disk the engine created with serial ${s} is ${hits.length ? "not unique" : "not visible"} in the installer (disks seen: ${seen2}). Nothing was written. Only disks whose serial the engine assigned are ever touched; check that the VM got the disks it was given.`,
        { serial: s, seen: seen2, matches: hits.length }
      );
    }
    return `/dev/${hits[0].name}`;
  });
}
var WrongDiskError = class extends RehearseError {
  constructor(message, fields = {}) {
    super("wrong-disk", message, fields);
    this.name = "WrongDiskError";
  }
};
var STEPS = [
  {
    id: "task-01-uefi",
    task: 1,
    title: "Confirm you booted in UEFI mode",
    decision: DECISIONS.task1.text,
    writes: false,
    commands: () => ["ls /sys/firmware/efi"],
    check: ([o2]) => /\befivars\b/.test(o2 ?? "") ? [] : ["/sys/firmware/efi has no efivars: this is not a UEFI boot"]
  },
  {
    id: "task-02-disks",
    task: 2,
    title: "Identify disks and their topology",
    decision: `${DECISIONS.task2.text} Check you\u2019re not about to nuke the wrong disk: only the disks the rehearsal created (by serial) are targets.`,
    writes: false,
    commands: () => ["lsblk -o NAME,SIZE,TYPE,MODEL,SERIAL,FSTYPE,MOUNTPOINTS", "lsblk -J -d -o NAME,SERIAL,TYPE,SIZE,MODEL"],
    check: ([, json], ctx) => {
      try {
        ctx.disks = resolveDisks(json ?? "", ctx.serials);
        return [];
      } catch (e) {
        return [e.message];
      }
    }
  },
  {
    id: "task-03-partition-table",
    task: 3,
    title: "Sanity-check existing partition tables",
    decision: DECISIONS.task3.text,
    writes: false,
    commands: (ctx) => ctx.disks.map((d) => `sudo sgdisk -p ${d}`)
  },
  {
    id: "task-04-partition",
    task: 4,
    title: "Partition the disk(s): GPT, a 1 GiB ESP and the data partition",
    decision: DECISIONS.task4.text,
    writes: true,
    commands: (ctx) => [
      ...ctx.disks.flatMap((d) => [
        `sudo sgdisk --zap-all ${d}`,
        `sudo sgdisk -n1:1M:+1G -t1:EF00 -c1:"EFI System" ${d}`,
        `sudo sgdisk -n2:0:0 -t2:${ctx.layout.dataPartition.code} -c2:"${ctx.layout.dataPartition.name}" ${d}`
      ]),
      ...ctx.disks.map((d) => `sudo sgdisk -p ${d}`)
    ],
    check: (outs, ctx) => {
      const problems = [];
      outs.slice(-ctx.disks.length).forEach((o2, i2) => {
        const parts = parseSgdiskPrint(o2).partitions;
        const p1 = parts.find((p) => p.number === 1);
        const p2 = parts.find((p) => p.number === 2);
        if (p1?.code !== "EF00") problems.push(`${ctx.disks[i2]}: partition 1 is ${p1 ? p1.code : "missing"}, not EF00 (EFI System)`);
        if (p2?.code !== ctx.layout.dataPartition.code) problems.push(`${ctx.disks[i2]}: partition 2 is ${p2 ? p2.code : "missing"}, not ${ctx.layout.dataPartition.code}`);
      });
      return problems;
    }
  },
  {
    id: "task-05-esp",
    task: 5,
    title: "Format the EFI System Partition",
    decision: DECISIONS.task5.text,
    writes: true,
    commands: (ctx) => [...ctx.disks.map((d) => `sudo mkfs.fat -F 32 -n EFI ${part(d, 1)}`), ...ctx.disks.map((d) => `sudo blkid -o export ${part(d, 1)}`)],
    check: (outs, ctx) => outs.slice(-ctx.disks.length).flatMap((o2, i2) => /^TYPE=vfat$/m.test(o2) && /^LABEL=EFI$/m.test(o2) ? [] : [`${part(ctx.disks[i2], 1)} is not a FAT file system labelled EFI`])
  },
  {
    id: "task-06-root-filesystem",
    task: 6,
    title: "Create the ZFS pool (or the ext4/Btrfs root file system)",
    decision: DECISIONS.task6.text,
    writes: true,
    commands: (ctx) => rootKind(ctx.layout).create.commands(rootCtx(ctx)),
    check: (outs, ctx) => rootKind(ctx.layout).create.check(outs, rootCtx(ctx))
  },
  {
    id: "task-07-datasets",
    task: 7,
    title: "Create datasets (root, nix store, persistent state) or Btrfs subvolumes",
    decision: DECISIONS.task7.text,
    writes: true,
    commands: (ctx) => rootKind(ctx.layout).layout.commands(rootCtx(ctx)),
    check: (outs, ctx) => rootKind(ctx.layout).layout.check(outs, rootCtx(ctx))
  },
  {
    id: "task-08-mount",
    task: 8,
    title: "Mount filesystems for installation",
    decision: DECISIONS.task8.text,
    writes: true,
    commands: (ctx) => [...mountCommands(ctx), "mount"],
    check: (outs, ctx) => {
      const mounts = parseMountLines(outs[outs.length - 1] ?? "");
      const problems = [];
      for (const m of ctx.layout.mounts) {
        const target = m.at === "/" ? "/mnt" : `/mnt${m.at}`;
        const seen2 = mounts.filter((x) => x.target === target).pop();
        if (!seen2) problems.push(`${target} is not mounted`);
        else if (seen2.fsType !== m.fsType) problems.push(`${target} is ${seen2.fsType}, not ${m.fsType}`);
        else if (m.at === "/boot" && seen2.source !== esp(ctx)) problems.push(`/mnt/boot is ${seen2.source}, not the ESP ${esp(ctx)}`);
      }
      return problems;
    }
  },
  {
    id: "task-09-generate-config",
    task: 9,
    title: "Generate the initial configuration",
    decision: DECISIONS.task9.text,
    writes: true,
    commands: () => ["sudo nixos-generate-config --root /mnt"],
    check: ([o2]) => /writing \/mnt\/etc\/nixos\/hardware-configuration\.nix/.test(o2 ?? "") ? [] : ["nixos-generate-config did not write /mnt/etc/nixos/hardware-configuration.nix"]
  },
  {
    id: "task-10-hardware-config",
    task: 10,
    title: "Validate that the mounts are reflected in the hardware config",
    decision: DECISIONS.task10.text,
    writes: false,
    commands: (ctx) => ["sudo sed -n '1,200p' /mnt/etc/nixos/hardware-configuration.nix", `sudo blkid -s UUID -o value ${esp(ctx)}`, `sudo blkid -s UUID -o value ${data(ctx)}`],
    check: ([hwText, espUuid, dataUuid], ctx) => {
      const hw = parseHardwareConfig(hwText ?? "");
      const k = rootKind(ctx.layout);
      const problems = [];
      for (const m of ctx.layout.mounts) {
        const fs3 = hw.fileSystems[m.at];
        if (!fs3) {
          problems.push(`hardware-configuration.nix has no fileSystems."${m.at}"`);
          continue;
        }
        if (fs3.fsType !== m.fsType) problems.push(`fileSystems."${m.at}" has fsType ${fs3.fsType}, not ${m.fsType}`);
        const byName = m.fsType === k.fsType ? k.devicesByName : void 0;
        const want = byName ? m.source : m.source === "{esp}" ? `/dev/disk/by-uuid/${(espUuid ?? "").trim()}` : `/dev/disk/by-uuid/${(dataUuid ?? "").trim()}`;
        if (fs3.device !== want) problems.push(`fileSystems."${m.at}" has device ${fs3.device}, expected ${want} (${byName ?? "by UUID"})`);
        if (m.options && !fs3.options.includes(m.options)) problems.push(`fileSystems."${m.at}" lacks options "${m.options}"`);
      }
      const fsName = k.supportedFilesystem;
      if (fsName && hw.supportedFilesystems.length && !hw.supportedFilesystems.includes(fsName)) {
        problems.push(`boot.supportedFilesystems does not include "${fsName}"`);
      }
      return problems;
    }
  },
  {
    id: "task-11-preflight",
    task: 11,
    title: "Preflight the build before installation",
    // nixos-install has no --dry-run (nixpkgs pkgs/by-name/ni/nixos-install/nixos-install.sh):
    // evaluate and dry-build the toplevel with nix instead, into the target's store as
    // nixos-install does (`--store "$mountPoint"`): the live ISO's own store is a tmpfs in RAM,
    // and a real flake's inputs (nixpkgs) fetched there would eat the memory the install needs.
    // With nixos-install's `--extra-substituters "auto?trusted=1"`: what the installer's own store
    // already holds (the ISO's paths, a flake input fetched before) is copied, not fetched again.
    decision: DECISIONS.task11.text,
    writes: false,
    commands: (ctx) => {
      const [dir, host] = splitFlakeRef(ctx.flakeRef);
      return [`sudo ${NIX} build --dry-run --no-link --store /mnt --extra-substituters 'auto?trusted=1' '${dir}#nixosConfigurations."${host}".config.system.build.toplevel'`];
    }
  },
  {
    id: "task-12-install",
    task: 12,
    title: "Install and set up the system",
    decision: DECISIONS.task12.text,
    writes: true,
    commands: (ctx) => [`sudo nixos-install --root /mnt --no-root-passwd --flake ${ctx.flakeRef}`],
    check: ([o2]) => {
      const p = [];
      if (!/installation finished!/.test(o2 ?? "")) p.push('nixos-install did not print "installation finished!"');
      const esp2 = /^.*(?:is not a mounted partition\. Is the path configured correctly\?|is not a FAT EFI System Partition).*$/m.exec(o2 ?? "");
      if (esp2) p.push(`the boot loader install failed: ${esp2[0].trim()}`);
      return p;
    }
  },
  {
    id: "task-13-boot-entries",
    task: 13,
    title: "Before reboot, verify boot entries exist",
    decision: DECISIONS.task13.text,
    writes: false,
    commands: () => ["sudo ls -la /mnt/boot/loader/entries | head", "cat /mnt/boot/loader/loader.conf", "readlink /mnt/nix/var/nix/profiles/system-1-link"],
    check: ([ls, loader, top]) => {
      const p = [];
      if (!/nixos-generation-1\.conf/.test(ls ?? "")) p.push("/mnt/boot/loader/entries has no nixos-generation-1.conf");
      if (!/^default nixos-generation-1\.conf$/m.test(loader ?? "")) p.push("loader.conf does not default to nixos-generation-1.conf");
      if (!/^\/nix\/store\/\S+-nixos-system-\S+$/.test((top ?? "").trim())) p.push("/mnt/nix/var/nix/profiles/system-1-link does not point at a system in the store");
      return p;
    }
  }
];

// src/phases/install.ts
async function runStep(ctx, m, step, commands, check, prepare2) {
  const r = ctx.rec.stepStart(step, commands.join("\n"));
  const startedMs = Date.now();
  const outs = [];
  let text = "";
  let problems;
  try {
    await prepare2?.();
    for (const c3 of commands) {
      const res = await m.run(c3, 3600);
      outs.push(res.output);
      text += `$ ${c3}
${res.output}`;
      if (res.exitCode !== 0) {
        problems = [`\`${c3}\` exited with ${res.exitCode}`];
        break;
      }
    }
    problems ??= check?.(outs) ?? [];
  } catch (e) {
    problems = [e.message.split("\n")[0]];
    r.error = errorRecord(e, { phase: "install", step: step.id });
  }
  return ctx.rec.stepEnd(r, { problems, outputTail: tail(text), startedMs, decision: step.decision });
}
var copyStep = { id: "flake-copy", task: 0, title: `Copy the configuration under test into the installer (${GUEST_CONFIG})`, decision: "Check that the flake directory is readable." };
var harnessStep = { id: "harness-inject", task: 0, title: `Add the rehearsal's harness modules (${GUEST_FLAKE})`, decision: "The harness flake could not be written into the installer." };
async function injectHarness(ctx, m) {
  const hardware = parseHardwareConfig(await m.succeed("cat /mnt/etc/nixos/hardware-configuration.nix"));
  const password = rehearsePassword(readFileSync11(ctx.installed.sshPrivateKeyFile, "utf8"));
  const files = harnessFiles({ host: ctx.flake.host, sshPublicKey: ctx.installed.sshPublicKey, password, vmHardware: hardware });
  ctx.installed.vmHardware = vmHardwareModule(hardware).content;
  ctx.rec.set({ injected: [...ctx.rec.report.injected, ...files.map((f) => ({ ...f, content: f.content.split(password).join("<this run's throw-away password>") }))] });
  return runStep(
    ctx,
    m,
    harnessStep,
    [`ls ${GUEST_FLAKE}`],
    ([ls]) => HARNESS_FILE_NAMES.filter((f) => !(ls ?? "").includes(f)).map((f) => `${GUEST_FLAKE}/${f} is missing`),
    () => writeHarness(m, files)
  );
}
async function runTasks(ctx, m) {
  for (let i2 = 0; i2 < STEPS.length; i2++) {
    const planned = STEPS[i2];
    await ctx.fault.beforeStep?.[planned.id]?.(m);
    const s = ctx.fault.step?.[planned.id]?.(planned) ?? planned;
    if (s.id === "task-11-preflight" && !await injectHarness(ctx, m)) {
      ctx.rec.skipSteps(STEPS.slice(i2));
      return false;
    }
    if (!await runStep(ctx, m, s, s.commands(ctx.plan), s.check ? (outs) => s.check(outs, ctx.plan) : void 0)) {
      ctx.rec.skipSteps(STEPS.slice(i2 + 1));
      return false;
    }
  }
  return true;
}
var installPhase = {
  id: "install",
  title: "Install (runbook Tasks 1\u201313)",
  async run(ctx) {
    const m = ctx.vm;
    const copied = await runStep(
      ctx,
      m,
      copyStep,
      [`ls -la ${GUEST_CONFIG}`],
      ([ls]) => / flake\.nix$/m.test(ls ?? "") ? [] : [`${GUEST_CONFIG}/flake.nix is missing after the copy`],
      async () => m.copyIn(ctx.flake.dir, GUEST_CONFIG, 120, await flakeFiles(ctx.flake.dir))
    );
    if (!copied) ctx.rec.skipSteps(STEPS);
    const ok = copied && await runTasks(ctx, m);
    if (!ok && !await m.alive()) throw new RehearseError("qemu-exited", `QEMU exited during the install (${m.exitStatus}): the VM is gone`, { during: "install", exit: String(m.exitStatus) });
    if (!ok && !ctx.keepDisks) ctx.rec.info("  the install failed: the VM is stopped without a power-off, its disks are not kept (--keep keeps them, powered off cleanly)");
    if (!ok) return false;
    ctx.installed.toplevel = (await m.succeed("readlink /mnt/nix/var/nix/profiles/system-1-link")).trim();
    for (const d of ctx.plan.disks) ctx.installed.espPartuuids.push((await m.succeed(`sudo blkid -s PARTUUID -o value ${part(d, 1)}`)).trim().toLowerCase());
    return true;
  }
};

// src/phases/power-off.ts
import path28 from "node:path";
function keepInstalled(ctx, dir) {
  const target = path28.resolve(dir);
  saveInstall(dir, ctx.workDir, {
    schema: 1,
    layout: ctx.layout.name,
    flake: ctx.o.flake,
    host: ctx.flake.host,
    disks: ctx.disks.map((d) => ({ ...d, file: path28.join(target, `${d.id}.qcow2`) })),
    efiVars: path28.join(target, "efivars.fd"),
    toplevel: ctx.installed.toplevel,
    espPartuuids: ctx.installed.espPartuuids,
    injected: ctx.rec.report.injected,
    vmHardware: ctx.installed.vmHardware,
    sshPublicKey: ctx.installed.sshPublicKey,
    sshPrivateKeyFile: path28.join(target, "id_ed25519"),
    isoSha256: ctx.iso.sha256,
    savedAt: (/* @__PURE__ */ new Date()).toISOString()
  }, path28.join(ctx.keyDir, "id_ed25519"));
  ctx.rec.info(`  the installed system is kept in ${dir}; this run goes on over overlays`);
  return overlayDisks(ctx.workDir, ctx.disks.map((d) => path28.join(target, `${d.id}.qcow2`)));
}
var powerOffPhase = {
  id: "power-off",
  title: "Unmount, export the pool, power off",
  when: (ctx, failed) => !!ctx.vm && (!failed || ctx.keepDisks),
  async run(ctx) {
    const m = ctx.vm;
    if (!await m.alive()) throw new RehearseError("qemu-exited", `QEMU exited during the install (${m.exitStatus}): the VM is gone`, { during: "install", exit: String(m.exitStatus) });
    const r = await m.run(["if mountpoint -q /mnt; then sudo umount -R /mnt; fi", ...rootKind(ctx.layout).powerOff(ctx.layout.root)].join(" && "), 300);
    if (r.exitCode !== 0) ctx.rec.info(`  ${r.output.trim()}`);
    if (ctx.fault.beforePowerOff) ctx.disks = await ctx.fault.beforePowerOff(m, ctx.disks);
    await m.shutdown(180, "sudo systemctl poweroff --no-block --no-wall");
    await m.stop();
    const installed2 = r.exitCode === 0 && ctx.rec.installStepsPassed;
    if (installed2 && ctx.saveTo && !ctx.o.fault) await keepInstalled(ctx, ctx.saveTo);
    return r.exitCode === 0;
  }
};

// src/phases/verify.ts
import { randomBytes as randomBytes5 } from "node:crypto";
import { readFileSync as readFileSync12, rmSync as rmSync9 } from "node:fs";

// src/verify/post-boot.ts
var out = (r, k) => r[k]?.output ?? "";
var POST_BOOT_CHECKS = [
  {
    id: "booted-system",
    decision: DECISIONS.task14,
    reads: { current: "readlink /run/current-system", booted: "readlink /run/booted-system" },
    verdict: (r, env) => checkBootedSystem(env.toplevel, out(r, "current").trim(), out(r, "booted").trim())
  },
  {
    id: "boot-entries",
    decision: DECISIONS.task13,
    reads: { list: "SYSTEMD_COLORS=0 bootctl list --json=short --no-pager", loader: "cat /boot/loader/loader.conf" },
    verdict: (r, env) => checkBootEntriesOutput(out(r, "list"), out(r, "loader"), `nixos-generation-${env.generation}.conf`)
  },
  {
    id: "generations",
    decision: DECISIONS.task14,
    reads: { list: "nix-env -p /nix/var/nix/profiles/system --list-generations" },
    verdict: (r, env) => checkGenerations(out(r, "list"), env.generation, env.generation)
  },
  {
    id: "pool-health",
    decision: DECISIONS.task15,
    // The root kind's own: on ZFS `zpool status -x`; on ext4 and Btrfs the file system's health.
    reads: (env) => ({ health: rootKindNamed(env.rootKind).health.read }),
    verdict: (r, env) => rootKindNamed(env.rootKind).health.verdict(out(r, "health"), r.health?.exitCode ?? -1)
  },
  {
    id: "boot-time",
    decision: DECISIONS.task16,
    reads: { time: "systemd-analyze time", blame: "systemd-analyze blame --no-pager | head -n 10" },
    verdict: (r) => checkBootTime(out(r, "time"), out(r, "blame"))
  },
  {
    id: "failed-units",
    decision: DECISIONS.task17,
    reads: { failed: "systemctl --failed --no-legend --plain --no-pager" },
    verdict: (r) => checkFailedUnits(out(r, "failed"))
  },
  {
    id: "sshd",
    decision: DECISIONS.task17,
    reads: { show: "systemctl show sshd -p ActiveState,SubState" },
    verdict: (r) => checkSshd(out(r, "show"))
  },
  {
    id: "vm-network",
    decision: DECISIONS.task17,
    reads: { ip: "ip -j addr show" },
    verdict: (r, env) => checkVmNetwork(out(r, "ip"), env.nic)
  },
  {
    id: "ssh-login",
    decision: DECISIONS.task17,
    reads: { hostname: "hostname" },
    probe: "key-login",
    verdict: (r, env, p) => {
      const l = p["key-login"] ?? { exitCode: -1, stdout: "", stderr: "not tried" };
      return checkSshLogin(l.exitCode, l.stdout, l.stderr, env.user, out(r, "hostname").trim());
    }
  },
  {
    id: "password-login-refused",
    decision: DECISIONS.task17,
    reads: {},
    probe: "password-login",
    verdict: (_r, env, p) => checkPasswordRefused(p["password-login"] ?? { user: env.user, exitCode: -1, stdout: "", stderr: "not tried", marker: "not-tried" })
  },
  {
    id: "efi-boot-entry",
    decision: DECISIONS.task12,
    reads: { dump: EFI_VARS_DUMP },
    verdict: (r, env) => checkEfiBootEntry(out(r, "dump"), env.espPartuuids)
  },
  {
    id: "closure-size",
    decision: DECISIONS.task18,
    reads: { size: CLOSURE_SIZE_COMMAND },
    verdict: (r) => checkClosureSize(out(r, "size"))
  },
  {
    id: "disk-space",
    decision: DECISIONS.task18,
    reads: { df: "df -P / /nix /boot" },
    verdict: (r) => checkDiskSpace(out(r, "df"))
  },
  {
    id: "secrets-not-in-store",
    decision: DECISIONS.secrets,
    reads: {},
    probe: "secret-search",
    verdict: (_r, _env, p) => checkSecretsNotInStore(p["secret-search"]?.exitCode ?? -1, p["secret-search"]?.output ?? "not searched")
  }
];
var PHASE_CHECK_DECISIONS = {
  "rebuild-build": DECISIONS.build,
  "rebuild-switch": DECISIONS.switch,
  "rebuild-sshd": DECISIONS.switch,
  "rebuild-failed-units": DECISIONS.switch,
  "rebuild-generations": DECISIONS.task14,
  "rollback-in-place": DECISIONS.rollback,
  "rollback-at-boot": DECISIONS.rollback,
  "rollback-entries-retained": DECISIONS.keepGenerations
};
function checkDecision(id) {
  return POST_BOOT_CHECKS.find((c3) => c3.id === id)?.decision ?? PHASE_CHECK_DECISIONS[id];
}

// src/verify/ssh.ts
import { randomBytes as randomBytes4 } from "node:crypto";
import { rmSync as rmSync8, writeFileSync as writeFileSync8 } from "node:fs";
import path29 from "node:path";
function sshArgs(key, port, connectSeconds = 60) {
  return ["-i", key, "-p", String(port), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", `ConnectTimeout=${Math.round(connectSeconds)}`, "-o", "LogLevel=ERROR"];
}
async function keyLogin(key, port, user, connectSeconds, timeoutMs) {
  const r = await execa("ssh", [...sshArgs(key, port, connectSeconds), `${user}@127.0.0.1`, 'echo "$(id -un)@$(hostname)"'], { reject: false, timeout: timeoutMs });
  return { exitCode: r.exitCode ?? -1, stdout: `${r.stdout}`, stderr: `${r.stderr}` };
}
async function tryPasswordLogin(port, user, password, connectSeconds, timeoutMs) {
  const dir = ownedTempDir("nixos-rehearse-askpass-");
  const marker = `password-login-${randomBytes4(6).toString("hex")}`;
  try {
    const askpass = path29.join(dir, "askpass");
    writeFileSync8(askpass, `#!/bin/sh
printf '%s\\n' "$NIXOS_REHEARSE_PASSWORD"
`, { mode: 448 });
    const r = await execa(
      "ssh",
      [
        "-p",
        String(port),
        "-F",
        "/dev/null",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "LogLevel=ERROR",
        "-o",
        `ConnectTimeout=${Math.round(connectSeconds)}`,
        "-o",
        "PubkeyAuthentication=no",
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "IdentityAgent=none",
        "-o",
        "GSSAPIAuthentication=no",
        "-o",
        "PreferredAuthentications=keyboard-interactive,password",
        "-o",
        "NumberOfPasswordPrompts=1",
        `${user}@127.0.0.1`,
        `echo ${marker}`
      ],
      { reject: false, timeout: timeoutMs, stdin: "ignore", env: { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: "force", DISPLAY: ":0", NIXOS_REHEARSE_PASSWORD: password } }
    );
    return { user, exitCode: r.exitCode ?? -1, stdout: `${r.stdout}`, stderr: `${r.stderr}`, marker };
  } finally {
    rmSync8(dir, { recursive: true, force: true });
  }
}

// src/phases/verify.ts
var rebootPhase = {
  id: "reboot",
  title: "Reboot from the NVMe disk through the firmware and systemd-boot",
  async run(ctx) {
    await ctx.vm?.stop();
    await bootInstalled(ctx, "installed");
    return true;
  }
};
var PROBES = {
  "key-login": (ctx, m) => keyLogin(ctx.installed.sshPrivateKeyFile, m.sshPort, REHEARSE_USER, m.t(12) / 1e3, m.t(36)),
  "password-login": (ctx, m) => tryPasswordLogin(m.sshPort, REHEARSE_USER, rehearsePassword(readFileSync12(ctx.installed.sshPrivateKeyFile, "utf8")), m.t(12) / 1e3, m.t(36)),
  // A secret provisioned at runtime (the runbook's way), and this run's private key: neither
  // may be anywhere in the store.
  async "secret-search"(ctx, m) {
    const secret = `rehearse-secret-${randomBytes5(12).toString("hex")}`;
    await m.succeed(`install -d -m 0700 /run/keys && printf '%s' '${secret}' > /run/keys/rehearse-secret && chmod 0400 /run/keys/rehearse-secret`);
    const keyLine = privateKeyNeedle(readFileSync12(ctx.installed.sshPrivateKeyFile, "utf8"));
    return m.run(`grep -rlF -e '${secret}' -e '${keyLine}' /nix/store`, 600);
  }
};
function checkEnv(ctx, generation = 1, toplevel = ctx.installed.toplevel) {
  return { rootKind: ctx.layout.root.kind, toplevel, espPartuuids: ctx.installed.espPartuuids, nic: VM_NIC, user: REHEARSE_USER, generation };
}
async function postBootChecks(ctx, m, env, o2 = {}) {
  let ok = true;
  for (const c3 of POST_BOOT_CHECKS) {
    if (c3.applies && !c3.applies(env) || o2.only && !o2.only.includes(c3.id)) continue;
    const reads = {};
    for (const [name, cmd] of Object.entries(typeof c3.reads === "function" ? c3.reads(env) : c3.reads)) reads[name] = await m.run(cmd, 300);
    const probe = {};
    if (c3.probe) Object.assign(probe, { [c3.probe]: await PROBES[c3.probe](ctx, m) });
    const check = c3.verdict(reads, env, probe);
    ctx.rec.check(o2.system ? { ...check, system: o2.system } : check);
    ok &&= check.status === "pass";
  }
  return ok;
}
var warmUpgrade = (ctx) => ctx.mode === "upgrade" && !!(ctx.cachedBase || ctx.o.installed);
var verifyPhase = {
  id: "verify",
  title: "Verify the installed system (runbook Tasks 13\u201318)",
  when: (ctx, failed) => !failed && !warmUpgrade(ctx),
  continueOnFailure: true,
  async run(ctx) {
    const m = ctx.vm;
    const ok = await postBootChecks(ctx, m, checkEnv(ctx), { system: ctx.mode === "upgrade" ? "base" : void 0 });
    if (!ok && ctx.mode === "upgrade" && ctx.saveTo) {
      rmSync9(ctx.saveTo, { recursive: true, force: true });
      ctx.rec.info(`  the base failed its checks: it is not kept in the cache (${ctx.saveTo})`);
    }
    await ctx.o.events?.verified?.(m);
    return ok;
  }
};
var rebootUpgradedPhase = {
  id: "reboot-upgraded",
  title: "Reboot into the upgraded generation through the firmware and systemd-boot, and check it (Tasks 13\u201318)",
  when: (ctx, failed) => !failed && ctx.mode === "upgrade",
  continueOnFailure: true,
  async run(ctx) {
    const old = ctx.vm;
    await old.shutdown(180, "sync; systemctl poweroff --no-block --no-wall");
    await old.stop();
    const m = await bootInstalled(ctx, "upgraded");
    return postBootChecks(ctx, m, checkEnv(ctx, 2, ctx.rec.report.changes?.to ?? ""), { system: "upgraded" });
  }
};

// src/phases/upgrade.ts
var wantsRebuild = (o2) => o2.rebuild !== false;
var ROLLED_BACK_CHECKS = ["booted-system", "failed-units", "sshd", "ssh-login"];
async function readChanges(m, before, built2) {
  const diff = await m.run(`nix --extra-experimental-features nix-command store diff-closures ${before} ${built2}`, 600);
  const booted = parseBootLinks(await output(m, bootLinksCommand("/run/booted-system")));
  const next = parseBootLinks(await output(m, bootLinksCommand(built2)));
  return { from: before, to: built2, ...diff.exitCode === 0 ? { closure: parseDiffClosures(diff.output) } : {}, reboot: needsReboot(booted, next) };
}
async function buildSwitchVerify(ctx) {
  const m = ctx.vm;
  const out2 = (cmd) => output(m, cmd);
  await pushFlake(ctx, m, 2);
  const host = ctx.target.host;
  const before = (await out2("readlink /run/current-system")).trim();
  if (ctx.mode === "upgrade") ctx.rec.set({ base: { ...ctx.rec.report.base, toplevel: before, ...ctx.cachedBase || ctx.o.installed ? { cachedFrom: ctx.cachedBase ?? ctx.o.installed } : {} } });
  const build = await m.run(`cd /root && nixos-rebuild build --flake ${GUEST_FLAKE}#${host}`, 3600);
  const built2 = (await out2("readlink /root/result")).trim();
  const buildCheck = checkRebuildBuild({ exitCode: build.exitCode, output: build.output, before, built: built2, currentAfter: await out2("readlink /run/current-system"), markerAfter: await out2("cat /etc/nixos-rehearse/generation") });
  ctx.rec.check(buildCheck);
  if (buildCheck.status === "pass") ctx.rec.set({ changes: await readChanges(m, before, built2) });
  const sw = await m.run(`nixos-rebuild switch --flake ${GUEST_FLAKE}#${host}`, 3600);
  if (ctx.rec.report.changes) ctx.rec.set({ changes: { ...ctx.rec.report.changes, units: parseUnitChanges(sw.output) } });
  const gen = await out2("cat /etc/nixos-rehearse/generation");
  const sshd = await out2("systemctl show sshd -p ActiveState,SubState");
  const failed = await out2("systemctl --failed --no-legend --plain --no-pager");
  ctx.rec.check(checkRebuildSwitch(sw.exitCode, sw.output, gen));
  ctx.rec.check(checkSshd(sshd, "rebuild-sshd"));
  ctx.rec.check(checkFailedUnits(failed, "rebuild-failed-units"));
  ctx.rec.check(checkGenerations(await out2("nix-env -p /nix/var/nix/profiles/system --list-generations"), 2, 2, "rebuild-generations"));
  return ctx.rec.checksPassed("rebuild-");
}
var built = (ctx) => ctx.rec.report.checks.some((c3) => c3.id === "rebuild-build" && c3.status === "pass");
var rebuildPhase = {
  id: "rebuild",
  title: "Rebuild the safe way: build, switch, verify (generation 2)",
  when: (ctx, failed) => !failed && ctx.mode === "install" && wantsRebuild(ctx.o),
  run: buildSwitchVerify
};
var upgradePhase = {
  id: "upgrade",
  title: "Upgrade to the configuration under test the safe way: build, switch, verify (generation 2)",
  when: (ctx, failed) => !failed && ctx.mode === "upgrade",
  continueOnFailure: built,
  run: buildSwitchVerify
};
var rollbackPhase = {
  id: "rollback",
  title: "Roll back in place, then at boot from the systemd-boot menu",
  when: (ctx, failed) => !failed && (ctx.mode === "upgrade" ? built(ctx) : wantsRebuild(ctx.o)),
  async run(ctx) {
    const m = ctx.vm;
    const out2 = (cmd) => output(m, cmd);
    const rb = await m.run("nixos-rebuild switch --rollback", 3600);
    const gen = await out2("cat /etc/nixos-rehearse/generation");
    const links = { current: await out2("readlink /run/current-system"), gen1: await out2("readlink /nix/var/nix/profiles/system-1-link") };
    ctx.rec.check(checkRollbackInPlace(rb.exitCode, rb.output, gen, links));
    await m.succeed("nix-env -p /nix/var/nix/profiles/system --switch-generation 2 && /nix/var/nix/profiles/system/bin/switch-to-configuration boot", 600);
    const oneshot = await m.run('SYSTEMD_COLORS=0 bootctl set-oneshot nixos-generation-1.conf && SYSTEMD_COLORS=0 bootctl status --no-pager | grep -E "OneShot|Default" ', 120);
    await m.shutdown(180, "sync; systemctl poweroff --no-block --no-wall");
    await m.stop();
    const m2 = await bootInstalled(ctx, "installed-rollback");
    const o2 = (cmd) => output(m2, cmd);
    const booted = await o2("readlink /run/booted-system");
    const gen1 = await o2("readlink /nix/var/nix/profiles/system-1-link");
    const selected = parseLoaderVar(await o2(LOADER_ENTRY_SELECTED));
    const defaultEntry = parseLoaderDefault(await o2("cat /boot/loader/loader.conf"));
    const marker = await o2("cat /etc/nixos-rehearse/generation");
    ctx.rec.check(checkRollbackAtBoot({ oneshot: oneshot.output, selected, defaultEntry, booted, gen1, marker }));
    ctx.rec.check(checkEntriesRetained(await o2("SYSTEMD_COLORS=0 bootctl list --json=short --no-pager")));
    const baseBack = ctx.mode !== "upgrade" || await postBootChecks(ctx, m2, checkEnv(ctx, 1), { system: "rolled-back", only: ROLLED_BACK_CHECKS });
    return ctx.rec.checksPassed("rollback-") && baseBack;
  }
};

// src/recorder.ts
import { readFileSync as readFileSync13, readdirSync as readdirSync4, writeFileSync as writeFileSync9 } from "node:fs";
import path30 from "node:path";

// src/diagnosis/rule-kit.ts
var firstLine = (s) => s.trim().split("\n")[0] ?? "";
var errorLine = (s) => {
  const lines = s.trim().split("\n").map((l) => l.trim()).filter(Boolean);
  return lines.find((l) => /\berror\b|\bfailed\b|denied|not found|does not exist/i.test(l)) ?? lines[lines.length - 1] ?? "";
};
var clip = (s, n2 = 300) => s.length > n2 ? `${s.slice(0, n2 - 1)}\u2026` : s;
var seen = (symptom, here) => `${symptom} Seen here: ${here}`;
function serialInError(error) {
  if (!error) return "";
  const parts = [];
  if (error.serialTail) parts.push(error.serialTail);
  const f = error.fields ?? {};
  if (error.kind === "guest-gave-up" && typeof f.shown === "string") parts.push(`${f.stage ?? "the boot"} gave up: ${f.shown}`);
  return parts.join("\n");
}
var str = (v) => typeof v === "string" ? v : void 0;
function timeoutOf(c3) {
  const e = c3.error;
  const f = e?.fields ?? {};
  const phase = c3.input.timedOutPhase ?? (e?.kind === "phase-timeout" ? str(f.phase) : void 0);
  const waitingFor = e?.kind === "console-timeout" ? str(f.waitingFor) : e?.kind === "power-off-timeout" ? `${str(f.machine) ?? "the VM"} to power off or reboot` : void 0;
  if (!phase && !waitingFor && e?.kind !== "console-timeout" && e?.kind !== "power-off-timeout" && e?.kind !== "phase-timeout") return void 0;
  return { phase, waitingFor };
}
var field = (e, name) => str(e?.fields?.[name]);
var BUILD_COMMAND = /nixos-rebuild|nixos-install|nix (?:--\S+ (?:'[^']*'|\S+) )*build/;
var ESP_ERROR = /(?:efiSysMountPoint|xbootldrMountPoint) = '[^']*' is not a mounted partition\. Is the path configured correctly\?|is not a FAT EFI System Partition|is not the root of the (?:EFI System Partition \(ESP\) )?file system|Couldn'?t find EFI system partition|could not find any previously installed systemd-boot|bootctl[^\n]*returned non-zero exit status/i;
var NO_SPACE = /No space left on device|out of space|disk quota exceeded/i;

// src/diagnosis/rules-boot.ts
var kernelPanicRule = {
  id: "kernel-panic",
  find(c3) {
    const panic = c3.input.stage?.kernelPanic ?? kernelPanic(c3.serial);
    if (!panic) return void 0;
    const reason = panic.replace(/^Kernel panic - not syncing: /, "");
    const cause = /Unable to mount root fs/.test(reason) ? "The kernel found no root file system to mount: no initrd was loaded, or the initrd lacks the driver for the disk (NVMe) or for the root file system." : /Attempted to kill init/.test(reason) ? "The init process exited: stage 1 or stage 2 crashed, or init= names a path that is not in the store." : "The kernel stopped on an error it cannot recover from; the serial lines before the panic say which.";
    return {
      symptom: `The kernel panicked during the boot (stage reached: ${c3.reached ?? "unknown"}): ${panic}.`,
      cause,
      fix: "Boot the previous generation from the systemd-boot menu (rollback at boot), then fix the kernel, initrd or init configuration (boot.kernelPackages, boot.initrd.availableKernelModules) and rebuild. If mounts fail, you have a filesystem/dataset/mount ordering issue. Don\u2019t chase app logs yet.",
      runbook: "Fast diagnosis playbook: boot and initrd issues",
      explains: ["error", "timeout", "phase:reboot", "phase:boot-installer"]
    };
  }
};
var poolNotImportedRule = {
  id: "pool-not-imported",
  find(c3) {
    const f = stage1Failure(c3.serial);
    const zfsStage1 = f && (/ZFS pool|cannot import|zfs/i.test(f.line) || f.reasons.some((r) => r.startsWith("cannot import")));
    const noPool = c3.failed.get("pool-health")?.reason === "no-pool";
    if (!zfsStage1 && !noPool) return void 0;
    const cm = COMMON_MISTAKES.poolNotImported;
    const here = zfsStage1 ? [f.line, ...f.reasons.filter((r) => r !== f.line)].join("; ") : "zpool status -x: no pools available";
    return { symptom: seen(cm.symptom, clip(here)), cause: cm.cause, fix: cm.fix, runbook: cm.section, explains: ["error", "timeout", "phase:reboot", "check:pool-health"] };
  }
};
var rootNotMountedRule = {
  id: "root-not-mounted",
  find(c3) {
    const f = stage1Failure(c3.serial);
    if (!f) return void 0;
    const cm = COMMON_MISTAKES.poolNotImported;
    return {
      symptom: seen(cm.symptom, clip([f.line, ...f.reasons.filter((r) => r !== f.line)].join("; "))),
      cause: "Stage 1 could not mount the root file system: a device name or UUID in hardware-configuration.nix that this machine does not have, or an initrd without the driver for the disk or the file system (the serial log shows which module it missed). Task 10: \u201CDo not rely on /dev/nvme0n1p2 in long-term configs unless you enjoy post-reboot surprises.\u201D",
      fix: 'Boot the older generation or the ISO, mount root at /mnt, fix fileSystems."/" (by UUID or label) and boot.initrd.availableKernelModules / boot.initrd.supportedFilesystems, rebuild and reinstall the boot loader.',
      runbook: `${cm.section}; Task 10`,
      explains: ["error", "timeout", "phase:reboot"]
    };
  }
};
var espNotMountedRule = {
  id: "esp-not-mounted",
  find(c3) {
    const signs = [];
    const explains = [];
    const t13 = c3.failedSteps.find((s) => s.id === "task-13-boot-entries");
    if (t13) {
      signs.push(`Task 13: ${(t13.problems ?? []).join("; ") || "no boot entries"}`);
      explains.push("step:task-13-boot-entries");
    }
    const t12 = c3.input.steps?.find((s) => s.id === "task-12-install");
    const espError = t12 && ESP_ERROR.exec(t12.outputTail);
    if (espError) {
      signs.push(`nixos-install: ${t12.outputTail.split("\n").find((l) => ESP_ERROR.test(l))?.trim() ?? espError[0]}`);
      explains.push("step:task-12-install");
    }
    const t8 = c3.failedSteps.find((s) => s.id === "task-08-mount" && (s.problems ?? []).some((p) => /\/mnt\/boot/.test(p)));
    if (t8) {
      signs.push(`Task 8: ${(t8.problems ?? []).filter((p) => /\/mnt\/boot/.test(p)).join("; ")}`);
      explains.push("step:task-08-mount");
    }
    const entries = c3.failed.get("boot-entries");
    if (entries?.reason === "no-entry") {
      signs.push(`after reboot: ${entries.summary}`);
      explains.push("check:boot-entries");
    }
    const fw = firmwareFailures(c3.serial);
    if (c3.reached === "firmware" && (fw.failed.length || fw.shell)) {
      signs.push(`the firmware found nothing to boot (${[...fw.failed.map((l) => l.replace(/ from .*?(: [^:]+)$/, "$1")), fw.shell ? "then started the UEFI Shell" : ""].filter(Boolean).join("; ")})`);
      explains.push("error", "timeout", "phase:reboot");
    }
    if (!signs.length) return void 0;
    const cm = COMMON_MISTAKES.espNotMounted;
    return { symptom: seen(cm.symptom, clip(signs.join("; "), 600)), cause: cm.cause, fix: `${cm.fix} (Task 13: ${DECISIONS.task13.text})`, runbook: cm.section, explains };
  }
};
var bootHangRule = {
  id: "boot-hang",
  find(c3) {
    const t = timeoutOf(c3);
    if (!t || c3.explained.has("timeout")) return void 0;
    const stage = c3.reached ?? "unknown";
    const evidence = c3.input.stage?.evidence;
    const where = {
      none: "Nothing came out of the serial console: the firmware did not start (or writes nowhere), or the console is not on ttyS0.",
      firmware: "The firmware never handed over to a boot loader.",
      "boot-loader": "The boot loader never started the kernel.",
      initrd: "The kernel or stage 1 (the initrd) stalled: usually waiting for a root device or pool that does not appear.",
      "stage-2": "systemd started but never reached the login prompt: a unit blocks the boot (often a mount or network-online.target).",
      login: "The system reached the login prompt, but the engine\u2019s next step never answered.",
      install: "nixos-install finished, but what came after it never answered.",
      reboot: "The guest powered off or reset when the engine did not expect it."
    };
    return {
      symptom: `A deadline ran out${t.phase ? ` in the ${t.phase} phase` : ""}${t.waitingFor ? ` waiting for ${clip(t.waitingFor, 160)}` : ""}; the boot reached ${stage}${evidence ? ` (\u201C${clip(evidence, 160)}\u201D)` : ""}.`,
      cause: where[stage] ?? "The guest stopped making progress.",
      fix: `Read the serial log's last lines (report.stage.serialTail, logs/serial-*.log). ${PLAYBOOK.find((s) => s.id === "boot").decision} If it is only slow (TCG), raise NIXOS_REHEARSE_TIMEOUT_SCALE.`,
      runbook: "Fast diagnosis playbook: boot and initrd issues",
      explains: ["error", "timeout", ...t.phase ? [`phase:${t.phase}`] : []]
    };
  }
};

// src/diagnosis/rules-engine.ts
var forgedOutputRule = {
  id: "forged-output",
  find(c3) {
    const inRun = c3.error?.kind === "protocol";
    const inStep = c3.failedSteps.filter((s) => s.error?.kind === "protocol");
    const msg = inRun ? firstLine(c3.error.message) : inStep[0] && firstLine(inStep[0].error.message);
    if (!msg) return void 0;
    return {
      symptom: `The engine refused a command's answer: ${msg}.`,
      cause: "Text that is not the engine\u2019s own frame appeared inside a command\u2019s output frame on the control console: console noise (kernel messages, a getty or a wall message on hvc0) or output shaped like the frame\u2019s markers. The command protocol refuses such an answer rather than guess what the command printed.",
      fix: "Keep the control console quiet (no console=hvc0 on the kernel command line, no getty on hvc0, power off with --no-wall) and rerun. If it repeats, attach logs/control-*.raw to a bug report.",
      explains: [...inRun ? ["error"] : [], ...inStep.map((s) => `step:${s.id}`)]
    };
  }
};
var isoChecksumMismatchRule = {
  id: "iso-checksum-mismatch",
  find(c3) {
    if (c3.error?.kind !== "iso-checksum-mismatch") return void 0;
    const [file, expected, actual] = ["path", "expected", "actual"].map((n2) => field(c3.error, n2) ?? "?");
    return {
      symptom: `The ISO ${file} has sha256 ${actual}, not the expected ${expected}; nothing was booted.`,
      cause: "The file is not the ISO the checksum names: an interrupted or corrupted download, another release\u2019s ISO, or a --sha256 (or <url>.sha256) for a different file.",
      fix: "Download the NixOS 25.11 installer ISO again, compare it with its published .sha256, and pass that value with --sha256.",
      explains: ["error"]
    };
  }
};
var unknownFlakeHostRule = {
  id: "unknown-flake-host",
  find(c3) {
    const e = c3.error;
    const unknown = e?.kind === "unknown-flake-host";
    const none = e?.kind === "input" && field(e, "problem") === "no-host";
    if (!unknown && !none) return void 0;
    const declared = Array.isArray(e.fields?.declared) ? e.fields.declared : [];
    const [dir, host] = [field(e, "dir") ?? "?", field(e, "host") ?? "?"];
    return {
      symptom: unknown ? `The flake in ${dir} declares no host "${host}" (it declares: ${declared.join(", ")}).` : `The flake reference '${field(e, "flakeRef") ?? ""}' names no host.`,
      cause: "The part after # must be a name under nixosConfigurations in that flake; a typo, or a host that lives in another flake, is refused before anything boots.",
      fix: unknown ? `Pass one of the declared hosts after '#', e.g. --flake ${dir}#${declared[0] ?? host}, or add nixosConfigurations.${host} to flake.nix.` : "Write it as <path>#<host>, e.g. --flake .#server.",
      runbook: "Minimal flake layout that scales past one host",
      explains: ["error"]
    };
  }
};
var qemuDiedRule = {
  id: "qemu-died",
  find(c3) {
    const e = c3.error;
    if (e?.kind !== "qemu-exited" && e?.kind !== "console-closed" || c3.explained.has("error")) return void 0;
    const atStart = e.kind === "qemu-exited" && field(e, "during") === "start";
    return {
      symptom: `QEMU stopped: ${clip(firstLine(e.message), 400)}.`,
      cause: atStart ? "QEMU refused its command line or could not open a disk, the ISO or the firmware files; its own message says which." : "QEMU went away while the engine was talking to the guest: it crashed, was killed (the OOM killer, a CI job timeout), or the guest powered off or reset when it was not expected to.",
      fix: "Read logs/qemu-*.log and the serial log\u2019s last lines; `nixos-rehearse doctor` checks QEMU, qemu-img and OVMF. Rerun with --keep to keep the disks for a look.",
      explains: ["error", "phase:boot-installer", "phase:reboot"]
    };
  }
};
var guestOutOfMemoryRule = {
  id: "guest-out-of-memory",
  find(c3) {
    const oom = c3.input.oom;
    if (!oom?.lines.length) return void 0;
    const installSteps = c3.failedSteps.filter((s) => s.task >= 11 && s.task <= 12);
    return {
      symptom: `The guest ran out of memory (${oom.memoryMiB} MiB): ${clip(oom.lines[0], 300)}${oom.lines.length > 1 ? ` (and ${oom.lines.length - 1} more)` : ""}.`,
      cause: "The kernel\u2019s OOM killer ended a process. In the installer the Nix store is a tmpfs in RAM, evaluating nixpkgs takes around a GiB, and the ZFS ARC grows while the install writes; the installed system\u2019s own services add to that.",
      fix: `Give the VM more memory (--memory, the action\u2019s memory input; the default is 4096 MiB) and rehearse again. ${PLAYBOOK.find((s) => s.id === "bottleneck").decision}`,
      runbook: "Fast diagnosis playbook: find the bottleneck",
      explains: ["error", ...installSteps.map((s) => `step:${s.id}`)]
    };
  }
};

// src/diagnosis/rules-system.ts
var poolDegradedRule = {
  id: "pool-degraded",
  find(c3) {
    const sources = [];
    const ph = c3.failed.get("pool-health");
    if (ph) sources.push(["check:pool-health", ph.evidence]);
    const t6 = c3.failedSteps.find((s) => s.id === "task-06-root-filesystem");
    if (t6) sources.push(["step:task-06-root-filesystem", t6.outputTail]);
    const storage = c3.play("storage");
    if (storage) sources.push(["playbook:storage", storage.output]);
    for (const [src, text] of sources) {
      const pools = parseZpoolStatus(text);
      const bad = pools.filter((p) => zpoolProblems(p).length);
      if (!bad.length) continue;
      const all = bad.flatMap(zpoolProblems);
      const problems = all.filter((p) => !all.includes(`pool ${p}`));
      const action = bad.find((p) => p.action)?.action;
      return {
        symptom: `zpool status: ${clip(problems.join("; "))}.`,
        cause: `A device of the pool is missing, failing or returning bad data${bad[0].status ? ` (zpool: \u201C${bad[0].status}\u201D)` : ""}. Task 15: ${DECISIONS.task15.text}`,
        fix: `${PLAYBOOK.find((s) => s.id === "storage").decision}${action ? ` zpool says: \u201C${action}\u201D` : ""}`,
        runbook: "Fast diagnosis playbook: storage health; Task 15",
        explains: [src]
      };
    }
    return void 0;
  }
};
var secretInStoreRule = {
  id: "secret-in-store",
  find(c3) {
    const s = c3.failed.get("secrets-not-in-store");
    if (!s || s.reason !== "secret-found") return void 0;
    const cm = COMMON_MISTAKES.secretInStore;
    return { symptom: seen(cm.symptom, s.summary), cause: cm.cause, fix: `${cm.fix} (${DECISIONS.secrets.text})`, runbook: cm.section, explains: ["check:secrets-not-in-store"] };
  }
};
var passwordGotIn = (x) => x.reason === "password-accepted";
var sshUnreachable = (x) => x.reason === "unreachable";
var passwordLoginAcceptedRule = {
  id: "password-login-accepted",
  find(c3) {
    const p = c3.failed.get("password-login-refused");
    if (!p || !passwordGotIn(p)) return void 0;
    return {
      symptom: `SSH with public keys off: ${p.summary}.`,
      cause: "sshd lets passwords in: services.openssh.settings.PasswordAuthentication is true, which is NixOS\u2019s default when the configuration does not set it (nixpkgs nixos/modules/services/networking/ssh/sshd.nix), and NixOS\u2019s sshd PAM stack checks Unix passwords whenever it is. The machine\u2019s safety then rests on passwords, not on the keys Task 17 puts in place.",
      fix: "Set services.openssh.settings.PasswordAuthentication = false (and KbdInteractiveAuthentication = false to stop offering the prompt at all), with the admins\u2019 authorized keys in place, then rebuild and verify.",
      runbook: "Task 17",
      explains: ["check:password-login-refused"]
    };
  }
};
var vmNoNetworkRule = {
  id: "vm-no-network",
  find(c3) {
    const n2 = c3.failed.get("vm-network");
    if (!n2) return void 0;
    const unreachable = ["ssh-login", "password-login-refused"].filter((id) => {
      const x = c3.failed.get(id);
      return x && sshUnreachable(x);
    });
    return {
      symptom: `The installed system came up without network: ${n2.summary}; the host cannot reach its sshd.`,
      cause: 'The harness names QEMU\u2019s NIC by its MAC (systemd.network.links."10-rehearse-nic") and gives it 10.0.2.15/24 (networking.interfaces.rehearse0), leaving the configuration\u2019s own interfaces alone. Something in the configuration undid that: a .link file or udev rule that renames every NIC, networkd or a network manager that takes over all interfaces and flushes addresses it did not set, or networking that was never started (a failed unit).',
      fix: `${PLAYBOOK.find((s) => s.id === "network").decision} On the console: ip -br a, networkctl, systemctl --failed. Key network configuration on stable identifiers (the MAC), not on names that change with the hardware.`,
      runbook: "Fast diagnosis playbook: network reachability; Common mistakes 3",
      explains: ["check:vm-network", ...unreachable.map((id) => `check:${id}`)]
    };
  }
};
var HOST_ID_ASSERTION = /ZFS requires networking\.hostId to be set/;
var zfsHostIdMissingRule = {
  id: "zfs-host-id-missing",
  find(c3) {
    const steps = c3.failedSteps.filter((s) => HOST_ID_ASSERTION.test(s.outputTail) || (s.problems ?? []).some((p) => HOST_ID_ASSERTION.test(p)));
    const checks = ["rebuild-build", "rebuild-switch"].map((id) => c3.failed.get(id)).filter((x) => !!x && HOST_ID_ASSERTION.test(x.evidence));
    if (!steps.length && !checks.length) return void 0;
    const where = steps.length ? `Task ${steps[0].task}` : checks[0].id;
    return {
      symptom: `${where} stopped on NixOS\u2019s assertion: \u201CZFS requires networking.hostId to be set\u201D.`,
      cause: "The configuration mounts ZFS but sets no networking.hostId. ZFS records the host id of the machine that imported a pool, and NixOS will not build a ZFS system without one: the real machine would fail the same way at its next rebuild or install.",
      fix: `Set networking.hostId to 8 hex digits unique to this machine (e.g. from \`head -c4 /dev/urandom | od -A none -t x4\`) in the host\u2019s configuration, commit it, and rehearse again. Task 11: ${DECISIONS.task11.text}`,
      runbook: "Task 11",
      explains: [...steps.map((s) => `step:${s.id}`), ...checks.map((x) => `check:${x.id}`), "phase:install"]
    };
  }
};
var OPTION_DOES_NOT_EXIST = /The option `([^'\n]+)' does not exist\./;
var FAILED_ASSERTIONS = /Failed assertions:\n((?:[ \t]*- [^\n]*(?:\n|$))+)/;
var nixosEvaluationRule = {
  id: "nixos-evaluation-error",
  find(c3) {
    const hit = (t) => OPTION_DOES_NOT_EXIST.test(t) || FAILED_ASSERTIONS.test(t) && !HOST_ID_ASSERTION.test(t);
    const steps = c3.failedSteps.filter((s) => hit(s.outputTail));
    const checks = ["rebuild-build", "rebuild-switch"].map((id) => c3.failed.get(id)).filter((x) => !!x && hit(x.evidence));
    if (!steps.length && !checks.length) return void 0;
    const text = steps.length ? steps[0].outputTail : checks[0].evidence;
    const where = steps.length ? `Task ${steps[0].task}` : checks[0].id;
    const option = OPTION_DOES_NOT_EXIST.exec(text)?.[1];
    const assertions = (FAILED_ASSERTIONS.exec(text)?.[1] ?? "").split("\n").map((l) => l.trim().replace(/^- /, "")).filter(Boolean);
    const explains = [...steps.map((s) => `step:${s.id}`), ...checks.map((x) => `check:${x.id}`), "phase:install"];
    if (option) {
      return {
        symptom: `${where} stopped at evaluation: NixOS says \u201CThe option \`${clip(option, 200)}' does not exist.\u201D`,
        cause: "The configuration sets an option that no NixOS 25.11 module declares: a typo, or an option renamed or removed in this release. NixOS evaluates the whole configuration before it builds anything, so the real machine\u2019s next install or nixos-rebuild stops on the same line.",
        fix: `Correct or remove \`${clip(option, 200)}\` in the file the error names (the NixOS 25.11 options are listed at search.nixos.org/options; \`nixos-option\` shows what a running system has), commit, and rehearse again. Task 11: ${DECISIONS.task11.text}`,
        runbook: "Task 11",
        explains
      };
    }
    return {
      symptom: `${where} stopped on NixOS\u2019s assertion${assertions.length > 1 ? "s" : ""}: ${assertions.map((a2) => `\u201C${clip(a2, 200)}\u201D`).join(", ")}.`,
      cause: "The configuration evaluates, but a NixOS module\u2019s assertion about it is false, and NixOS will not build a system that fails one: the real machine would fail the same way at its next rebuild or install.",
      fix: `Do what the assertion\u2019s message asks in the host\u2019s configuration, commit, and rehearse again. Task 11: ${DECISIONS.task11.text}`,
      runbook: "Task 11",
      explains
    };
  }
};
var sshDeadAfterRebootRule = {
  id: "ssh-dead-after-reboot",
  find(c3) {
    const bad = ["sshd", "ssh-login", "rebuild-sshd"].filter((id) => !c3.explained.has(`check:${id}`)).map((id) => c3.failed.get(id)).filter((x) => !!x);
    if (!bad.length) return void 0;
    const cm = COMMON_MISTAKES.sshDead;
    const net4 = c3.play("network");
    const down = net4 && !/\bUP\b[^\n]*\d+\.\d+\.\d+\.\d+/.test(net4.output.split("\n").filter((l) => !/^lo\s/.test(l)).join("\n"));
    const here = bad.map((x) => `${x.id}: ${x.summary}`).join("; ") + (down ? `; ip -br a shows no interface UP with an address` : "");
    const pw = c3.failed.get("password-login-refused");
    const alsoPw = pw && sshUnreachable(pw) ? ["check:password-login-refused"] : [];
    return { symptom: seen(cm.symptom, clip(here, 500)), cause: cm.cause, fix: `${cm.fix} Task 17: ${DECISIONS.task17.text}`, runbook: cm.section, explains: [...bad.map((x) => `check:${x.id}`), ...alsoPw] };
  }
};
var diskFillingRule = {
  id: "disk-filling",
  find(c3) {
    const signs = [];
    const explains = [];
    const kept = c3.failed.get("rollback-entries-retained");
    if (kept?.reason === "too-few-generations") {
      signs.push(kept.summary);
      explains.push("check:rollback-entries-retained");
    }
    for (const s of c3.failedSteps) {
      const line = s.outputTail.split("\n").find((l) => NO_SPACE.test(l)) ?? (s.problems ?? []).find((p) => NO_SPACE.test(p));
      if (line) {
        signs.push(`Task ${s.task}: ${line.trim()}`);
        explains.push(`step:${s.id}`);
      }
    }
    for (const ch of c3.failed.values()) {
      const line = ch.evidence.split("\n").find((l) => NO_SPACE.test(l));
      if (line) {
        signs.push(`${ch.id}: ${line.trim()}`);
        explains.push(`check:${ch.id}`);
      }
    }
    const full = c3.error?.serialTail?.split("\n").find((l) => NO_SPACE.test(l));
    if (full) {
      signs.push(full.trim());
      explains.push("error");
    }
    const df = c3.play("storage");
    for (const m of df?.output.matchAll(/^\S+\s+\S+\s+\S+\s+\S+\s+(\d+)%\s+(\/\S*)\s*$/gm) ?? []) {
      if (Number(m[1]) >= 90) signs.push(`${m[2]} is ${m[1]}% full`);
    }
    if (!signs.length) return void 0;
    const cm = COMMON_MISTAKES.diskFilling;
    const gcAte = explains[0] === "check:rollback-entries-retained" && signs.length === 1;
    return {
      symptom: seen(cm.symptom, clip(signs.join("; "), 500)),
      cause: gcAte ? `Garbage collection or a boot-entry limit removed the older generations: \u201Caggressive GC is how you delete your only working kernel right before a reboot.\u201D ${DECISIONS.keepGenerations.text}` : cm.cause,
      fix: `${cm.fix} ${DECISIONS.gc.text}`,
      runbook: gcAte ? `${cm.section}; Garbage collection without shooting yourself` : cm.section,
      explains
    };
  }
};
var rebuildSlowRule = {
  id: "rebuild-slow",
  find(c3) {
    const t = timeoutOf(c3);
    if (!t) return void 0;
    const building = t.phase && ["rebuild", "rollback"].includes(t.phase) || t.waitingFor && /the end of: /.test(t.waitingFor) && BUILD_COMMAND.test(t.waitingFor);
    if (!building) return void 0;
    const cm = COMMON_MISTAKES.rebuildSlow;
    const what = t.waitingFor ? `waiting for ${clip(t.waitingFor, 160)}` : `the ${t.phase} phase`;
    return { symptom: seen(cm.symptom, `the deadline ran out ${what}.`), cause: cm.cause, fix: cm.fix, runbook: cm.section, explains: ["error", "timeout", ...t.phase ? [`phase:${t.phase}`] : []] };
  }
};
var rebuildFailedRule = {
  id: "rebuild-failed",
  find(c3) {
    const build = c3.failed.get("rebuild-build");
    const sw = c3.failed.get("rebuild-switch");
    if (!build && !sw) return void 0;
    const first = build ?? sw;
    const why = errorLine(first.evidence);
    const explains = [...build ? ["check:rebuild-build"] : [], ...sw ? ["check:rebuild-switch"] : []];
    if (sw && c3.failed.get("rebuild-generations")?.reason === "no-new-generation") explains.push("check:rebuild-generations");
    return {
      symptom: `${first.summary}${why ? `: ${why}` : ""}.`,
      cause: build ? "The changed configuration does not evaluate or build; nothing was activated, the running system is untouched." : "The new generation built but activating it failed, or activated without the change: the failure the runbook\u2019s \u201Cbuild, then switch, then verify\u201D practice catches at switch time, not after a reboot.",
      fix: build ? DECISIONS.build.text : `${DECISIONS.switch.text} ${DECISIONS.rollback.text}`,
      runbook: build ? DECISIONS.build.section : DECISIONS.switch.section,
      explains
    };
  }
};
var rollbackFailedRule = {
  id: "rollback-failed",
  find(c3) {
    const bad = ["rollback-in-place", "rollback-at-boot"].map((id) => c3.failed.get(id)).filter((x) => !!x);
    if (!bad.length) return void 0;
    const atBoot = bad.some((x) => x.id === "rollback-at-boot");
    return {
      symptom: `${bad.map((x) => `${x.id}: ${x.summary}`).join("; ")}.`,
      cause: atBoot ? "Choosing generation 1 at boot did not run generation 1: systemd-boot did not take the one-shot entry (EFI variables not writable, an old systemd-boot) or the entry does not boot the system it names." : "Switching back to generation 1 in place did not bring back its system: the rollback failed or left the change in place.",
      fix: `${DECISIONS.rollback.text} Check bootctl list and each entry\u2019s init= path before relying on it. ${DECISIONS.keepGenerations.text}`,
      runbook: DECISIONS.rollback.section,
      explains: bad.map((x) => `check:${x.id}`)
    };
  }
};
var failedUnitsRule = {
  id: "failed-units",
  find(c3) {
    const bad = ["failed-units", "rebuild-failed-units"].map((id) => c3.failed.get(id)).filter((x) => !!x);
    if (!bad.length) return void 0;
    const services = PLAYBOOK.find((s) => s.id === "services");
    return {
      symptom: `systemctl --failed: ${bad.map((x) => x.summary).join("; ")}.`,
      cause: bad.some((x) => x.id === "rebuild-failed-units") ? "A unit the new generation started or restarted failed: the switch activated a configuration that does not run. Don\u2019t trust \u201Cswitch succeeded.\u201D" : "A unit of the installed configuration failed during the boot.",
      fix: `${services.decision} (journalctl -u <unit> -b). ${DECISIONS.rollback.text}`,
      runbook: services.runbook,
      explains: bad.map((x) => `check:${x.id}`)
    };
  }
};

// src/diagnosis/rules.ts
var RULES = [
  forgedOutputRule,
  isoChecksumMismatchRule,
  unknownFlakeHostRule,
  guestOutOfMemoryRule,
  zfsHostIdMissingRule,
  nixosEvaluationRule,
  kernelPanicRule,
  poolNotImportedRule,
  rootNotMountedRule,
  espNotMountedRule,
  poolDegradedRule,
  secretInStoreRule,
  passwordLoginAcceptedRule,
  vmNoNetworkRule,
  sshDeadAfterRebootRule,
  diskFillingRule,
  rebuildSlowRule,
  rebuildFailedRule,
  rollbackFailedRule,
  failedUnitsRule,
  bootHangRule,
  qemuDiedRule
];
function stepFailed(s) {
  const plan = STEPS.find((p) => p.id === s.id);
  const decision = s.decision ?? plan?.decision ?? "Read the step\u2019s output in the report.";
  const title = s.title ?? plan?.title ?? s.id;
  const problems = (s.problems ?? []).join("; ");
  return {
    id: "step-failed",
    symptom: `${s.task ? `Task ${s.task}` : s.id} (${title}) failed${problems ? `: ${clip(problems, 500)}` : ""}.`,
    cause: problems ? `What the Task\u2019s check saw: ${clip(problems, 500)}.` : "The Task\u2019s commands failed; the report holds their output.",
    fix: decision,
    runbook: s.task ? `Task ${s.task}` : void 0
  };
}
function checkFailed(ch) {
  const d = checkDecision(ch.id);
  return {
    id: "check-failed",
    symptom: `The check ${ch.id} failed: ${ch.summary}.`,
    cause: `What it read: ${clip(errorLine(ch.evidence) || "(no output)", 300)}`,
    fix: d?.text ?? "Read the check\u2019s evidence in the report.",
    runbook: d?.section
  };
}
function diagnose(input) {
  const steps = input.steps ?? [];
  const checks = input.checks ?? [];
  const failedSteps = steps.filter((s) => s.status === "fail");
  const failed = new Map(checks.filter((c3) => c3.status === "fail").map((c3) => [c3.id, c3]));
  const failedPhases = (input.phases ?? []).filter((p) => p.status === "fail");
  const error = input.error;
  const anyFailure = input.result === "fail" || failedSteps.length > 0 || failed.size > 0 || failedPhases.length > 0 || !!error || !!input.timedOutPhase;
  if (!anyFailure) return [];
  const serial = normalizeSerial([input.stage?.serialTail ?? "", input.stage?.evidence ?? "", serialInError(error)].join("\n"));
  const explained = /* @__PURE__ */ new Set();
  const ctx = {
    input,
    failedSteps,
    failed,
    error,
    serial,
    reached: input.stage?.reached,
    play: (id) => input.playbook?.find((p) => p.id === id),
    explained
  };
  const out2 = [];
  for (const r of RULES) {
    if (r.id === "root-not-mounted" && out2.some((d2) => d2.id === "pool-not-imported")) continue;
    const f = r.find(ctx);
    if (!f) continue;
    const { explains, ...d } = f;
    out2.push({ id: r.id, ...d });
    for (const e of explains) explained.add(e);
  }
  for (const s of failedSteps) if (!explained.has(`step:${s.id}`)) out2.push(stepFailed(s));
  for (const ch of failed.values()) if (!explained.has(`check:${ch.id}`)) out2.push(checkFailed(ch));
  if (error && !explained.has("error")) {
    out2.push({ id: "run-error", symptom: `The run stopped: ${clip(firstLine(error.message), 500)}.`, cause: "An error outside the runbook\u2019s Tasks and checks (its message says which input or tool).", fix: "Act on the message, then rerun; `nixos-rehearse doctor` checks the host\u2019s tools." });
  }
  if (!out2.length) {
    for (const p of failedPhases) {
      if (explained.has(`phase:${p.id}`)) continue;
      out2.push({ id: "phase-failed", symptom: `The ${p.title ?? p.id} phase failed with no failing step or check.`, cause: "The phase\u2019s own work failed (for power-off: unmounting /mnt or exporting the pool).", fix: "Read the phase\u2019s lines in the run log." });
    }
  }
  if (!out2.length) out2.push({ id: "run-error", symptom: "The rehearsal failed without a failing step, check or error.", cause: "Nothing in the report says why.", fix: "Read the run log and logs/; report the run if it repeats." });
  return out2.map((d) => d.runbook === void 0 ? omitRunbook(d) : d);
}
function omitRunbook(d) {
  const { runbook: _, ...rest } = d;
  return rest;
}

// src/render.ts
function cell(text) {
  return text.replace(/\r?\n/g, " ").replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/([\\`*_{}[\]()#+!|~])/g, "\\$1").replace(/@/g, "@\u200B");
}
function fence(text, info = "text") {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const f = "`".repeat(longest + 1);
  return `${f}${info}
${text.replace(/\s+$/, "")}
${f}`;
}
var secs = (ms) => ms >= 6e4 ? `${Math.floor(ms / 6e4)}m ${(ms % 6e4 / 1e3).toFixed(0).padStart(2, "0")}s` : `${(ms / 1e3).toFixed(1)}s`;
var mark = (s) => s === "pass" ? "\u2705" : s === "fail" ? "\u274C" : "\u23ED\uFE0F";
function html(text) {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/@/g, "@\u200B").replace(/\r?\n/g, " ");
}
function details(summary, body) {
  return `<details><summary>${html(summary)}</summary>

${body}

</details>`;
}
function code(text) {
  return /^[\w.:/+#-]+$/.test(text) ? `\`${text}\`` : cell(text);
}
var shortRev = (rev) => rev ? code(rev.slice(0, 7)) : "\u2014";
function day(t) {
  const d = typeof t === "number" ? new Date(t * 1e3) : void 0;
  return d && !Number.isNaN(d.getTime()) ? d.toISOString().slice(0, 10) : "\u2014";
}
function lockTable(changes) {
  const rows = changes.map((c3) => `| ${cell(c3.input)} | ${cell(c3.change)} | ${shortRev(c3.old?.rev)} \u2192 ${shortRev(c3.new?.rev)} | ${day(c3.old?.lastModified)} \u2192 ${day(c3.new?.lastModified)} |`);
  return ["**Flake inputs changed against the base branch**", "", "| Input | Change | Revision | Last modified (UTC) |", "| --- | --- | --- | --- |", ...rows];
}
var kib = (bytes) => `${bytes >= 0 ? "+" : "\u2212"}${(Math.abs(bytes) / 1024).toFixed(1)} KiB`;
var versions2 = (v) => v.length ? v.map((x) => x || "\u03B5").join(", ") : "\u2205";
function changesSection(r) {
  const c3 = r.changes;
  const title = r.mode === "upgrade" ? `**What the upgrade changes** (from ${code(r.base?.flake ?? "")})` : "**What the rebuild changed**";
  const out2 = [title, ""];
  if (r.base?.cachedFrom) out2.push("- Base: the installed base configuration, taken from the cache (no installer, no install)");
  if (r.base?.cacheFallback) out2.push(`- Base: installed afresh, because ${cell(r.base.cacheFallback)}`);
  if (c3.reboot) out2.push(`- Reboot needed: ${c3.reboot.needed ? `**yes** (${c3.reboot.because.map(cell).join(", ")} changed)` : "no (same kernel, initrd, modules and systemd)"}`);
  if (c3.units) {
    for (const [k, label] of [["stopped", "stopped"], ["started", "started"], ["restarted", "restarted"], ["reloaded", "reloaded"], ["newlyStarted", "newly started"], ["failed", "failed"]]) {
      if (c3.units[k].length) out2.push(`- Units ${label} by the switch: ${c3.units[k].map((u2) => code(u2)).join(", ")}`);
    }
    if (!Object.values(c3.units).some((l) => l.length)) out2.push("- The switch started, stopped, restarted or reloaded no unit");
  }
  if (c3.closure) {
    out2.push(`- Closure: ${c3.closure.packages.length} package(s) changed, ${kib(c3.closure.sizeDelta)}`);
    if (c3.closure.packages.length) {
      const rows = c3.closure.packages.map((p) => `| ${code(p.name)} | ${cell(versions2(p.removed))} \u2192 ${cell(versions2(p.added))} | ${p.sizeDelta === void 0 ? "" : kib(p.sizeDelta)} |`);
      out2.push("", details("Closure difference (nix store diff-closures)", ["| Package | Versions | Size |", "| --- | --- | --- |", ...rows].join("\n")));
    }
  }
  return out2;
}
function renderReport(r, opts = {}) {
  const out2 = [];
  const host = opts.host ?? flakeHost(r.flake);
  const firstStep = r.steps.find((s) => s.status === "fail");
  const firstCheck = r.checks.find((c3) => c3.status === "fail");
  const why = r.error?.message ?? r.unfinished ?? (firstStep ? `${firstStep.id}: ${firstStep.problems?.[0] ?? firstStep.title}` : firstCheck ? `${firstCheck.id}: ${firstCheck.summary}` : "");
  out2.push(`${r.result === "pass" ? "\u2705" : "\u274C"} **nixos-rehearse: ${r.result.toUpperCase()}** for \`${cell(host)}\` (layout ${cell(r.layout)}, ${cell(r.accel)}, ${secs(r.durationMs)})${why ? ` \u2014 ${cell(why)}` : ""}`);
  if (r.fault) out2.push("", `> **Fault injected on purpose:** ${code(r.fault.id)}: ${cell(r.fault.what)}`);
  for (const d of r.diagnosis ?? []) {
    out2.push("", `> **Diagnosis** (${code(d.id)}${d.runbook ? `, ${cell(d.runbook)}` : ""}): Symptom: ${cell(d.symptom)} \u2192 Root cause: ${cell(d.cause)} \u2192 Fix: ${cell(d.fix)}`);
  }
  if (firstStep?.decision) out2.push("", `> **Runbook Task ${firstStep.task}:** ${cell(firstStep.decision)}`);
  if (r.phases.length) {
    out2.push("", "```mermaid", "gantt", "  title Rehearsal timeline (seconds)", "  dateFormat X", "  axisFormat %s");
    let t = 0;
    for (const p of r.phases) {
      const d = Math.max(1, Math.round(p.durationMs / 1e3));
      out2.push(`  ${p.id.replace(/[^\w-]/g, "")} :${p.status === "fail" ? "crit" : "done"}, ${t}, ${t + d}`);
      t += d;
    }
    out2.push("```");
  }
  if (r.steps.length) {
    out2.push("", "| Task | Step | Status | Time |", "| --- | --- | --- | --- |");
    for (const s of r.steps) out2.push(`| ${s.task || ""} | ${cell(s.title)} | ${mark(s.status)} | ${s.status === "skipped" ? "" : secs(s.durationMs)} |`);
  }
  if (r.checks.length) {
    const on6 = r.checks.some((c3) => c3.system);
    out2.push("", `| Check |${on6 ? " On |" : ""} Status | Result |`, `| --- |${on6 ? " --- |" : ""} --- | --- |`);
    for (const c3 of r.checks) out2.push(`| \`${cell(c3.id)}\` |${on6 ? ` ${cell(c3.system ?? "")} |` : ""} ${mark(c3.status)} | ${cell(c3.summary)} |`);
  }
  if (r.changes) out2.push("", ...changesSection(r));
  if (r.lockChanges?.length) out2.push("", ...lockTable(r.lockChanges));
  if (r.oom) {
    out2.push("", `**The guest ran out of memory** (${r.oom.memoryMiB} MiB): the kernel's OOM killer ended ${r.oom.lines.length === 1 ? "a process" : `${r.oom.lines.length} processes`}.`, "", details("OOM killer (serial console)", fence(r.oom.lines.join("\n"))));
  }
  if (r.stage) {
    out2.push("", `**The guest stopped answering.** Boot stage reached: ${cell(r.stage.reached)}${r.stage.evidence ? ` (${cell(r.stage.evidence)})` : ""}`);
    out2.push("", details("Serial console (last lines)", fence(r.stage.serialTail || "(nothing on the serial console)")));
  }
  const evidence = (id) => r.checks.find((c3) => c3.id === id)?.evidence;
  for (const [id, title] of [["generations", "Generations"], ["boot-entries", "Boot entries"], ["pool-health", "Pool status"]]) {
    const e = evidence(id);
    if (e) out2.push("", details(title, fence(e)));
  }
  if (r.injected.length) {
    out2.push("", details("What the rehearsal added to the configuration (harness module)", r.injected.map((i2) => `- \`${cell(i2.file)}\`: ${i2.settings.map(cell).join("; ")}`).join("\n")));
  }
  for (const s of r.steps.filter((x) => x.status === "fail")) {
    out2.push("", details(`Output of ${s.id} (last lines)`, `${fence(`$ ${s.command.split("\n").join("\n$ ")}`, "sh")}

${fence(s.outputTail)}`));
  }
  for (const c3 of r.checks.filter((x) => x.status === "fail")) out2.push("", details(`Evidence for ${c3.id}`, fence(c3.evidence)));
  for (const p of r.playbook ?? []) {
    out2.push("", details(`Diagnosis playbook: ${p.title} (exit ${p.exitCode})`, `${fence(`$ ${p.command.split("\n").join("\n$ ")}`, "sh")}

${fence(p.output || "(no output)")}`));
  }
  return `${out2.join("\n")}
`;
}
function renderReportSafely(r, opts = {}) {
  try {
    return { markdown: renderReport(r, opts) };
  } catch (e) {
    const host = opts.host ?? flakeHost(String(r.flake ?? ""));
    const result = r.result === "pass" ? "pass" : "fail";
    const error = `the report could not be rendered: ${e.message}`;
    return {
      markdown: `${result === "pass" ? "\u2705" : "\u274C"} **nixos-rehearse: ${result.toUpperCase()}** for \`${cell(host)}\`

${cell(error)}. report.json is in the run's artifact.
`,
      error
    };
  }
}

// src/reporter.ts
function fanOut(reporters) {
  const each = (k) => (...args) => {
    for (const r of reporters) {
      try {
        r[k]?.apply(r, args);
      } catch {
      }
    }
  };
  return {
    runStart: each("runStart"),
    phaseStart: each("phaseStart"),
    phaseEnd: each("phaseEnd"),
    stepStart: each("stepStart"),
    stepEnd: each("stepEnd"),
    check: each("check"),
    info: each("info"),
    warn: each("warn"),
    /** Every reporter ends; then the first failure is thrown (publishing the report is the point). */
    async runEnd(report, reportPath) {
      const failures = [];
      for (const r of reporters) await Promise.resolve(r.runEnd?.(report, reportPath)).catch((e) => failures.push(e));
      if (failures.length) throw failures[0];
    }
  };
}

// src/recorder.ts
var Recorder = class {
  constructor(paths, init, reporters) {
    this.paths = paths;
    this.out = fanOut(reporters);
    this.report = {
      schema: 2,
      result: "fail",
      accel: "unknown",
      iso: init.iso,
      flake: init.flake,
      layout: init.layout,
      installPath: "flake",
      injected: [],
      phases: [],
      steps: [],
      checks: [],
      startedAt: new Date(this.started).toISOString(),
      durationMs: 0,
      logs: { dir: paths.logDir },
      ...init.lockChanges ? { lockChanges: init.lockChanges } : {},
      unfinished: "the run had not finished when this was written: it is still running, or it was killed"
    };
  }
  paths;
  report;
  started = Date.now();
  out;
  /** report.json and report.md, now. A rendering problem never costs report.json (renderReportSafely). */
  write() {
    this.report.durationMs = Date.now() - this.started;
    writeFileSync9(this.paths.reportPath, `${JSON.stringify(this.report, null, 2)}
`);
    writeFileSync9(path30.join(this.paths.outDir, "report.md"), renderReportSafely(this.report).markdown);
  }
  start(probe) {
    this.write();
    this.out.runStart({ reportPath: this.paths.reportPath, logDir: this.paths.logDir, flake: this.report.flake, layout: this.report.layout }, probe);
  }
  info(line) {
    this.out.info(line);
  }
  warn(line) {
    this.out.warn(line);
  }
  /** Facts about the run as a whole (the ISO, the accelerator, the fault, where it started from). */
  set(facts) {
    Object.assign(this.report, facts);
    this.write();
  }
  phaseStart(id, title) {
    const p = { id, title, status: "fail", durationMs: 0 };
    this.report.phases.push(p);
    this.out.phaseStart({ id, title });
    return p;
  }
  phaseEnd(p, passed, startedMs) {
    p.status = passed ? "pass" : "fail";
    p.durationMs = Date.now() - startedMs;
    this.write();
    this.out.phaseEnd(p);
  }
  stepStart(s, command) {
    const r = { id: s.id, task: s.task, title: s.title, status: "fail", durationMs: 0, command, outputTail: "" };
    this.report.steps.push(r);
    this.out.stepStart({ id: s.id, task: s.task, title: s.title });
    return r;
  }
  /** A step's end: pass without problems, else fail with them and the runbook's decision. */
  stepEnd(r, o2) {
    r.outputTail = o2.outputTail;
    r.durationMs = Date.now() - o2.startedMs;
    r.status = o2.problems.length ? "fail" : "pass";
    if (r.status === "fail") {
      r.problems = o2.problems;
      r.decision = o2.decision;
    }
    this.write();
    this.out.stepEnd(r);
    return r.status === "pass";
  }
  /** Steps that never ran because an earlier one failed. */
  skipSteps(steps) {
    for (const s of steps) this.report.steps.push({ id: s.id, task: s.task, title: s.title, status: "skipped", durationMs: 0, command: "", outputTail: "" });
    this.write();
  }
  check(c3) {
    this.report.checks.push(c3);
    this.out.check(c3);
  }
  /** Whether every check with this id prefix (or all, without one) passed. */
  checksPassed(prefix = "") {
    return this.report.checks.filter((c3) => c3.id.startsWith(prefix)).every((c3) => c3.status === "pass");
  }
  get anyCheckFailed() {
    return this.report.checks.some((c3) => c3.status === "fail");
  }
  get installStepsPassed() {
    return this.report.steps.every((s) => s.status === "pass");
  }
  playbook(outs) {
    this.report.playbook = outs;
    this.write();
  }
  /** How far a guest's boot got, from its serial console's last lines (kept with them). */
  stage(serialTail, o2 = {}) {
    if (o2.ifUnset && this.report.stage) return;
    this.report.stage = { ...bootStage(serialTail), serialTail };
  }
  /** The run's error, as data (errors.ts): the first one wins (after a signal, "interrupted" stays the reason). */
  error(e, where = {}) {
    this.report.error ??= errorRecord(e, where);
    this.out.info(`error: ${this.report.error.message}`);
  }
  get hasError() {
    return !!this.report.error;
  }
  /** The verdict, the out-of-memory lines of every serial console, and on a failure the diagnosis. */
  conclude(memoryMiB) {
    const report = this.report;
    delete report.unfinished;
    const oom = this.oomLines();
    if (oom.length) report.oom = { memoryMiB, lines: oom };
    const ok = !report.error && report.phases.length > 0 && report.phases.every((p) => p.status === "pass") && this.installStepsPassed && this.checksPassed();
    report.result = ok ? "pass" : "fail";
    try {
      report.diagnosis = ok ? [] : diagnose(report);
    } catch (e) {
      report.diagnosis = [{ id: "run-error", symptom: report.error?.message ?? "the rehearsal failed", cause: `the diagnosis could not be made: ${e.message}`, fix: "Read the failing step or check and the serial logs." }];
    }
    this.write();
    return ok;
  }
  async end() {
    await this.out.runEnd(this.report, this.paths.reportPath);
  }
  /** The OOM killer's lines from every serial log; an unreadable log costs only its lines. */
  oomLines() {
    try {
      return readdirSync4(this.paths.logDir).filter((f) => /^serial-.*\.log$/.test(f)).flatMap((f) => oomKills(readFileSync13(path30.join(this.paths.logDir, f), "utf8")));
    } catch {
      return [];
    }
  }
};

// src/reporters/lines.ts
function linesReporter(log) {
  return {
    phaseStart: (p) => log(p.title),
    stepEnd(s) {
      log(progressLine(s));
      if (s.status === "fail") for (const p of s.problems ?? []) log(`      ${p}`);
    },
    check: (c3) => log(`  ${c3.status === "pass" ? "\u2713" : "\u2717"} ${c3.id.padEnd(24)} ${c3.summary}`),
    info: log,
    warn: (line) => log(`warning: ${line}`),
    runEnd: (r, reportPath) => log(`${r.result === "pass" ? "PASS" : "FAIL"}: report ${reportPath}`)
  };
}

// src/upgrade/base-cache.ts
import { createHash as createHash4 } from "node:crypto";
import { readFileSync as readFileSync14, readdirSync as readdirSync5, rmSync as rmSync10 } from "node:fs";
import path31 from "node:path";
function baseCacheKey(p) {
  const files = Object.keys(p.files).sort().map((f) => [f, p.files[f]]);
  return createHash4("sha256").update(JSON.stringify({ ...p, files })).digest("hex").slice(0, 24);
}
function harnessFingerprint() {
  return createHash4("sha256").update(wrapperFlake("host")).update(harnessModule({ sshPublicKey: "key", password: "password" }).content).digest("hex").slice(0, 16);
}
function allFiles(dir, rel = "") {
  return readdirSync5(path31.join(dir, rel), { withFileTypes: true }).flatMap((e) => {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.name === ".git") return [];
    return e.isDirectory() ? allFiles(dir, p) : e.isFile() ? [p] : [];
  });
}
async function configFiles(dir) {
  const files = await flakeFiles(dir) ?? allFiles(dir);
  return Object.fromEntries(files.map((f) => [f, createHash4("sha256").update(readFileSync14(path31.join(dir, f))).digest("hex")]));
}
var baseCacheDir = (cacheDir2, key) => path31.join(cacheDir2, "installed-bases", key);
async function baseKeyFor(o2) {
  return baseCacheKey({ isoSha256: o2.isoSha256, files: await configFiles(o2.baseDir), host: o2.host, layout: o2.layout, disks: o2.disks, diskSize: o2.diskSize, harness: harnessFingerprint() });
}
async function usableBase(dir) {
  let why;
  try {
    const saved = readSavedInstall(dir);
    for (const d of saved.disks) {
      const r = await execa(qemuImgBinary(), ["check", "-q", d.file], { reject: false, stdin: "ignore" });
      if (r.exitCode !== 0) {
        why = `its disk ${path31.basename(d.file)} fails qemu-img check (exit ${r.exitCode}): ${`${r.stderr}`.trim().split("\n")[0] ?? ""}`;
        break;
      }
    }
  } catch (e) {
    why = e.message;
  }
  if (!why) return { ok: true };
  rmSync10(dir, { recursive: true, force: true });
  return { ok: false, why };
}

// src/egress/policy.ts
import net3 from "node:net";
var SPECIAL = [
  ["0.0.0.0", 8, "ipv4", "this network"],
  ["10.0.0.0", 8, "ipv4", "private"],
  ["100.64.0.0", 10, "ipv4", "shared address space"],
  ["127.0.0.0", 8, "ipv4", "loopback"],
  ["169.254.0.0", 16, "ipv4", "link-local"],
  ["172.16.0.0", 12, "ipv4", "private"],
  ["192.0.0.0", 24, "ipv4", "IETF protocol assignments"],
  ["192.0.2.0", 24, "ipv4", "documentation"],
  ["192.88.99.0", 24, "ipv4", "6to4 relay anycast"],
  ["192.168.0.0", 16, "ipv4", "private"],
  ["198.18.0.0", 15, "ipv4", "benchmarking"],
  ["198.51.100.0", 24, "ipv4", "documentation"],
  ["203.0.113.0", 24, "ipv4", "documentation"],
  ["224.0.0.0", 4, "ipv4", "multicast"],
  ["240.0.0.0", 4, "ipv4", "reserved"],
  ["::", 128, "ipv6", "unspecified"],
  ["::1", 128, "ipv6", "loopback"],
  ["64:ff9b:1::", 48, "ipv6", "local-use translation"],
  ["100::", 64, "ipv6", "discard-only"],
  ["2001::", 23, "ipv6", "IETF protocol assignments"],
  ["2001:db8::", 32, "ipv6", "documentation"],
  ["2002::", 16, "ipv6", "6to4"],
  ["fc00::", 7, "ipv6", "unique local"],
  ["fe80::", 10, "ipv6", "link-local"],
  ["fec0::", 10, "ipv6", "site-local"],
  ["ff00::", 8, "ipv6", "multicast"]
];
var BLOCKS = SPECIAL.map(([address, prefix, family, name]) => {
  const list = new net3.BlockList();
  list.addSubnet(address, prefix, family);
  return { list, name: `${name} (${address}/${prefix})` };
});
function parseAllowed(entries) {
  const list = new net3.BlockList();
  for (const e of entries) {
    const [address = "", prefix, extra] = e.split("/");
    const family = net3.isIPv4(address) ? "ipv4" : net3.isIPv6(address) ? "ipv6" : void 0;
    const max = family === "ipv4" ? 32 : 128;
    const bits = prefix === void 0 ? max : /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN;
    if (!family || extra !== void 0 || !(bits >= 0 && bits <= max)) throw new Error(`network-allow entry '${e}' is not an IP address or ADDRESS/PREFIX block (e.g. 10.1.2.3 or 10.1.0.0/16)`);
    list.addSubnet(address, bits, family);
  }
  return { list, entries: [...entries] };
}

// src/egress/command.ts
import { existsSync as existsSync8 } from "node:fs";
import { fileURLToPath as fileURLToPath4 } from "node:url";
function relayScript() {
  const candidates = [new URL("./egress-relay.js", import.meta.url), new URL("../../dist/egress-relay.js", import.meta.url)].map((u2) => fileURLToPath4(u2));
  const found = candidates.find((f) => existsSync8(f));
  if (!found) throw new Error(`the egress relay is missing (looked for ${candidates.join(", ")}): run npm run build`);
  return found;
}
function egressRelay(log, allow) {
  return { command: [process.execPath, "--no-warnings", relayScript(), "--log", log, ...allow.flatMap((a2) => ["--allow", a2])] };
}

// src/rehearsal.ts
var FAULTS2 = FAULT_DESCRIPTIONS;
var PhaseTimeoutError = class extends RehearseError {
  constructor(phase, minutes) {
    super("phase-timeout", `phase ${phase} timed out after ${minutes} min (the per-phase limit): the VM was stopped`, { phase, minutes });
    this.phase = phase;
    this.minutes = minutes;
  }
  phase;
  minutes;
  name = "PhaseTimeoutError";
};
var INSTALL = [bootInstallerPhase, installPhase, powerOffPhase];
var INSTALLED = [rebootPhase, verifyPhase, rebuildPhase, upgradePhase, rebootUpgradedPhase, rollbackPhase];
function phaseLimit(o2) {
  const minutes = o2.phaseTimeoutMinutes ?? DEFAULT_PHASE_TIMEOUT_MINUTES;
  if (!(minutes > 0 && minutes <= LIMITS.phaseTimeoutMinutes.max)) throw new LimitError("phaseTimeoutMinutes", String(o2.phaseTimeoutMinutes), `more than 0 and at most ${LIMITS.phaseTimeoutMinutes.max} minutes`);
  return minutes;
}
function reportersOf(o2) {
  const rs = [...o2.reporters ?? []];
  if (o2.log) rs.push(linesReporter(o2.log));
  if (o2.events?.phaseStart || o2.events?.phaseEnd) rs.push({ phaseStart: (p) => o2.events?.phaseStart?.(p.id, p.title), phaseEnd: (p) => o2.events?.phaseEnd?.(p) });
  return rs;
}
function removeOwned(w) {
  if (w.keyDir) rmSync11(w.keyDir, { recursive: true, force: true });
  if (!w.keepDisks) rmSync11(w.workDir, { recursive: true, force: true });
}
async function runRehearsal(o2) {
  const minutes = phaseLimit(o2);
  const outDir = path32.resolve(o2.outDir);
  const logDir = path32.join(outDir, "logs");
  mkdirSync8(logDir, { recursive: true });
  const rec = new Recorder({ outDir, logDir, reportPath: path32.join(outDir, "report.json") }, { iso: { path: o2.iso }, flake: o2.flake, layout: o2.layout, lockChanges: o2.lockChanges }, reportersOf(o2));
  for (const d of removeLeftovers()) rec.info(`removed ${d}, left by a run that was killed`);
  rec.start({ lastSerialLine: () => lastSerialLine() });
  if (o2.fault && !(o2.fault in FAULT_DESCRIPTIONS)) throw new RehearseError("input", `unknown fault '${o2.fault}': choose one of ${Object.keys(FAULT_DESCRIPTIONS).join(", ")}`, { fault: o2.fault });
  if (o2.fault) rec.set({ fault: { id: o2.fault, what: FAULT_DESCRIPTIONS[o2.fault] } });
  if (o2.network !== void 0 && o2.network !== "internet" && o2.network !== "none") throw new RehearseError("input", `unknown network '${String(o2.network)}': choose internet (the default) or none`, { network: String(o2.network) });
  rec.set({ network: o2.network ?? "internet" });
  const owned = { workDir: o2.workDir ?? ownedTempDir("nixos-rehearse-run-"), keepDisks: !!(o2.keep || o2.workDir) };
  const memoryMiB = o2.memoryMiB ?? DEFAULT_MEMORY_MIB;
  let ctx;
  const unregister = register({
    describe: `rehearsal writing ${rec.paths.reportPath}`,
    teardown: async () => {
      rec.error(new RehearseError("interrupted", "interrupted by a signal before the rehearsal finished"));
      rec.conclude(memoryMiB);
    },
    teardownSync: () => removeOwned(owned)
  });
  try {
    ctx = await prepare(o2, rec, owned);
    const from = o2.installed ?? await cachedBase(ctx);
    if (from) await fromInstalled(ctx, from);
    const installed2 = o2.verify === false ? [] : INSTALLED;
    await runPipeline(ctx, from ? installed2 : [...INSTALL, ...installed2], minutes);
  } catch (e) {
    recordError(rec, e);
  } finally {
    unregister();
    await teardown(ctx, owned);
    removeOwned(owned);
    if (owned.keepDisks) rec.info(`disks and EFI variables kept in ${owned.workDir}`);
  }
  const unbootable = ctx?.cachedBase && rec.report.phases.find((p) => p.id === "reboot")?.status === "fail";
  if (unbootable) {
    rmSync11(ctx.cachedBase, { recursive: true, force: true });
    rec.info(`the cached base ${ctx.cachedBase} did not boot: it is discarded, and the base installed afresh`);
    return runRehearsal({ ...o2, baseCacheFallback: `the cached base ${ctx.cachedBase} did not boot` });
  }
  const ok = rec.conclude(memoryMiB);
  await rec.end();
  return { report: rec.report, reportPath: rec.paths.reportPath, exitCode: ok ? 0 : 1 };
}
async function cachedBase(ctx) {
  const o2 = ctx.o;
  if (ctx.mode !== "upgrade" || o2.baseCache === false || o2.fault || o2.saveInstalled) return void 0;
  const isoSha256 = ctx.iso.sha256 ?? await sha256File(ctx.iso.path);
  const key = await baseKeyFor({ isoSha256, baseDir: ctx.flake.dir, host: ctx.flake.host, layout: ctx.layout.name, disks: ctx.disks.length, diskSize: o2.diskSize ?? "20G" });
  const dir = baseCacheDir(ctx.cacheDir, key);
  const fallback = o2.baseCacheFallback;
  if (existsSync9(dir) && !fallback) {
    const u2 = await usableBase(dir);
    if (u2.ok) {
      ctx.cachedBase = dir;
      ctx.rec.info(`  upgrade mode: the base is taken from the cache (${dir}): no installer, no install`);
      return dir;
    }
    ctx.rec.info(`  upgrade mode: the cached base ${dir} cannot be used (${u2.why}): it is discarded, and the base installed afresh`);
    ctx.rec.set({ base: { ...ctx.rec.report.base, cacheFallback: u2.why } });
  }
  if (fallback) ctx.rec.set({ base: { ...ctx.rec.report.base, cacheFallback: fallback } });
  ctx.saveTo = dir;
  return void 0;
}
function lastSerialLine() {
  const m = [...Machine.running].at(-1);
  return m?.serialTail(5).split("\n").map((l) => l.trim()).filter(Boolean).at(-1);
}
async function prepare(o2, rec, owned) {
  const layout = layoutByName(o2.layout);
  let allowed = [];
  try {
    allowed = parseAllowed(o2.networkAllow ?? []).entries;
  } catch (e) {
    throw new RehearseError("input", e.message, { networkAllow: (o2.networkAllow ?? []).join(" ") });
  }
  if (allowed.length && o2.network === "none") throw new RehearseError("input", `--network-allow ${allowed.join(" ")} has no effect with --network none: the VM reaches nothing`, { networkAllow: allowed.join(" ") });
  if (allowed.length) rec.set({ networkAllow: allowed });
  const target = resolveFlake(o2.flake);
  const flake = o2.upgradeFrom ? resolveFlake(o2.upgradeFrom) : target;
  if (flake.host !== target.host) throw new RehearseError("input", `--upgrade-from names host ${flake.host} and --flake host ${target.host}: an upgrade keeps the machine, so both must name the same host`, { base: flake.host, target: target.host });
  if (o2.upgradeFrom) rec.set({ mode: "upgrade", base: { flake: flake.ref } });
  const notReady = hostNotReady();
  if (notReady) throw notReady;
  const cacheDir2 = o2.cacheDir ?? cacheDir();
  const iso = await resolveIso(o2.iso, o2.sha256, cacheDir2, (l) => rec.info(l));
  rec.set({ iso: { path: iso.path, sha256: iso.sha256 } });
  const accel = await chooseAccel(qemuBinary(), o2.accel ?? "auto");
  rec.set({ accel: accel.accel, speed: { ...accel.speed ?? {}, timeoutScale: accel.timeoutScale } });
  rec.info(`accelerator: ${accel.accel} (${accel.reason})${accel.speed ? `; TCG speed factor ${accel.speed.factor} (probe ${accel.speed.probeMs} ms, reference ${accel.speed.referenceMs} ms): waits scaled \xD7${accel.timeoutScale}` : ""}`);
  owned.keyDir = ownedTempDir("nixos-rehearse-key-");
  const keyFile = path32.join(owned.keyDir, "id_ed25519");
  execaSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "nixos-rehearse", "-f", keyFile]);
  const runId = randomBytes6(3).toString("hex").toUpperCase();
  const serials = Array.from({ length: layout.disks }, (_, i2) => `NR${runId}D${i2}`);
  return {
    o: o2,
    rec,
    layout,
    flake,
    target,
    mode: o2.upgradeFrom ? "upgrade" : "install",
    cacheDir: cacheDir2,
    logDir: rec.paths.logDir,
    workDir: owned.workDir,
    keyDir: owned.keyDir,
    keepDisks: owned.keepDisks,
    iso: { path: iso.path, sha256: iso.sha256 },
    accel: { accel: accel.accel, timeoutScale: accel.timeoutScale },
    memoryMiB: o2.memoryMiB ?? DEFAULT_MEMORY_MIB,
    cpus: o2.cpus ?? 2,
    network: o2.network === "none" ? "none" : "public",
    egress: o2.network === "none" ? void 0 : egressRelay(path32.join(rec.paths.logDir, "egress.log"), allowed),
    fault: faultHooks(o2.fault),
    saveTo: o2.saveInstalled,
    disks: serials.map((serial, i2) => ({ id: `disk${i2}`, serial: o2.diskSerials?.[i2] ?? serial })),
    plan: { layout, serials, disks: [], flakeRef: `${GUEST_FLAKE}#${flake.host}` },
    installed: { toplevel: "", espPartuuids: [], vmHardware: "", sshPublicKey: readFileSync15(`${keyFile}.pub`, "utf8").trim(), sshPrivateKeyFile: keyFile }
  };
}
async function runPipeline(ctx, phases, minutes) {
  let failed = false;
  for (const phase of phases) {
    if (phase.when ? !phase.when(ctx, failed) : failed) continue;
    let ok = false;
    let threw = false;
    try {
      ok = await runPhase(ctx, phase, minutes);
    } catch (e) {
      recordError(ctx.rec, e, phase.id);
      threw = true;
    }
    const goOn = typeof phase.continueOnFailure === "function" ? phase.continueOnFailure(ctx) : !!phase.continueOnFailure;
    if (ok || goOn && !threw) continue;
    if (!failed && ctx.vm) await afterFailure(ctx, ctx.vm).catch(() => {
    });
    failed = true;
    if (threw) break;
  }
  if (!failed && ctx.rec.anyCheckFailed && ctx.vm) await afterFailure(ctx, ctx.vm).catch(() => {
  });
}
async function runPhase(ctx, phase, minutes) {
  const p = ctx.rec.phaseStart(phase.id, phase.title);
  const t0 = Date.now();
  let timer;
  let passed = false;
  const work = phase.run(ctx);
  try {
    const limit = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new PhaseTimeoutError(phase.id, minutes)), minutes * 6e4);
    });
    passed = await Promise.race([work, limit]);
    return passed;
  } catch (e) {
    if (e instanceof PhaseTimeoutError) {
      for (const m of Machine.running) ctx.rec.stage(m.serialTail(200));
      await Promise.allSettled([...Machine.running].map((m) => m.stop()));
      await Promise.race([work.catch(() => {
      }), new Promise((r) => setTimeout(r, 3e4).unref())]);
    }
    throw e;
  } finally {
    clearTimeout(timer);
    ctx.rec.phaseEnd(p, passed, t0);
  }
}
function recordError(rec, e, phase) {
  rec.error(e, { phase });
  if (e instanceof PhaseTimeoutError) rec.set({ timedOutPhase: e.phase });
  const serialTail = stageTail(e);
  if (serialTail) rec.stage(serialTail, { ifUnset: true });
}
async function teardown(ctx, owned) {
  const m = ctx?.vm;
  if (!m) return;
  if (m.isRunning && owned.keepDisks && m.name !== "installer") await m.shutdown(120).catch(() => {
  });
  await m.stop();
}

// src/iso/default.ts
var DEFAULT_ISO = "https://channels.nixos.org/nixos-25.11/latest-nixos-minimal-x86_64-linux.iso";

// src/cli/exit-codes.ts
var EXIT = { pass: 0, red: 1, usage: 2, hostNotReady: 3 };
function exitCodeFor(e) {
  if (e instanceof CommanderError) return EXIT.usage;
  if (e instanceof LimitError || e?.kind === "invalid-setting") return EXIT.usage;
  const kind = kindOf(e);
  if (kind === "input" || kind === "unknown-flake-host") return EXIT.usage;
  if (kind === "host-not-ready") return EXIT.hostNotReady;
  return EXIT.red;
}
var EXIT_CODES_HELP = `Exit codes:
  0  the rehearsal passed (doctor: the host is ready)
  1  the rehearsal was red: report.json says why (report.diagnosis)
  2  a usage or input error: an unknown option, a bad value, a flake or host that is not there
  3  the host is not ready: QEMU, qemu-img, OVMF or ssh-keygen missing (run nixos-rehearse doctor)`;

// src/cli/help.ts
var HELP_AFTER = `
Examples:
  nixos-rehearse run --flake .#server                        host server of the flake in ., on the NixOS 25.11 ISO
  nixos-rehearse run --flake .#server --layout zfs-mirror    the same on two mirrored disks
  nixos-rehearse run --flake .#server --json | jq .result    report.json on stdout; progress stays on stderr
  nixos-rehearse run --iso ./nixos.iso --flake ~/cfg#laptop  a local ISO
  nixos-rehearse demo                                        the fixture installer and flake: no configuration needed
  nixos-rehearse doctor                                      is this host ready (QEMU, OVMF, KVM)?

Progress and errors go to stderr; stdout holds only what --json asks for. The default ISO is
${DEFAULT_ISO}
(its sha256 is read from <url>.sha256 next to it).

Environment:
  NIXOS_REHEARSE_QEMU          the QEMU to run (default qemu-system-x86_64 on PATH)
  NIXOS_REHEARSE_QEMU_IMG      the qemu-img to run (default qemu-img on PATH)
  NIXOS_REHEARSE_XORRISO       the xorriso that reads the ISO's boot menu (default xorriso on PATH)
  NIXOS_REHEARSE_OVMF_CODE     the OVMF firmware pair, both set (default: found where distributions
  NIXOS_REHEARSE_OVMF_VARS       install it; OVMF or OVMF_FD: a Nix OVMF.fd output)
  NIXOS_REHEARSE_TIMEOUT_SCALE multiply every wait by this (default 1 under KVM, 5 \xD7 the speed factor under TCG)
  XDG_CACHE_HOME               the cache (ISOs, saved installers, the fixture) is $XDG_CACHE_HOME/nixos-rehearse
                               (default ~/.cache/nixos-rehearse)
  TMPDIR                       where each run's disks, sockets and key go (removed after the run)
  NO_COLOR                     any value: no colour (colour is used only on a terminal, and FORCE_COLOR=0 turns it off too)

${EXIT_CODES_HELP}
`;

// src/cli/run.ts
import { readFileSync as readFileSync16 } from "node:fs";

// src/reporters/terminal.ts
function useColor2(isTTY, env = process.env) {
  return !!isTTY && !env.NO_COLOR && env.FORCE_COLOR !== "0";
}
function elapsed(ms) {
  const s = Math.max(0, Math.floor(ms / 1e3));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor(s % 3600 / 60)).padStart(2, "0")}m`;
}
function oneLine(text, width) {
  const clean2 = stripAnsi(text).replace(/[\u0000-\u001f\u007f-\u009f]/g, " ").trim();
  const chars = Array.from(clean2);
  if (width <= 0) return "";
  return chars.length > width ? `${chars.slice(0, Math.max(0, width - 1)).join("")}\u2026` : clean2;
}
var paint = (on6, code2, s) => on6 ? `\x1B[${code2}m${s}\x1B[0m` : s;
var CLEAR_LINE = "\r\x1B[2K";
function liveScreen(stream, tty3, now, heartbeatMs, tickMs) {
  let probe;
  let phase;
  let step;
  let live2 = false;
  let lastOutput = now();
  let timer;
  const serial = () => {
    try {
      return probe?.lastSerialLine();
    } catch {
      return void 0;
    }
  };
  const current = () => step ?? phase;
  const clear = () => {
    if (live2) stream.write(CLEAR_LINE);
    live2 = false;
  };
  const liveText = (a2) => {
    const width = Math.max(20, (stream.columns || 80) - 1);
    const head = `  \u2026 ${oneLine(a2.label, width - 12)} ${elapsed(now() - a2.since)}`;
    const last = serial();
    const room = width - Array.from(head).length - 3;
    return last && room > 8 ? `${head} \u2502 ${oneLine(last, room)}` : head;
  };
  const draw = () => {
    const a2 = current();
    if (!tty3 || !a2) return;
    stream.write(`${CLEAR_LINE}${liveText(a2)}`);
    live2 = true;
  };
  const line = (text) => {
    clear();
    stream.write(`${text}
`);
    lastOutput = now();
    draw();
  };
  const tick = () => {
    if (tty3) return draw();
    const a2 = current();
    if (!a2 || now() - lastOutput < heartbeatMs) return;
    const last = serial();
    line(`  \u2026 still running ${a2.label} (${elapsed(now() - a2.since)})${last ? `: ${oneLine(last, 160)}` : ""}`);
  };
  return {
    line,
    setProbe: (p) => probe = p,
    /** A phase (or, with `isStep`, a step) starts running, or (undefined) stops. */
    running(label, isStep = false) {
      const a2 = label === void 0 ? void 0 : { label, since: now() };
      if (isStep) step = a2;
      else phase = step = a2;
      if (!a2) clear();
      draw();
      timer ??= setInterval(tick, tickMs);
      timer.unref?.();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = void 0;
      phase = step = void 0;
      clear();
    }
  };
}
function terminalReporter(opts = {}) {
  const stream = opts.stream ?? process.stderr;
  const tty3 = opts.isTTY ?? !!stream.isTTY;
  const color = opts.color ?? useColor2(tty3, process.env);
  const screen = liveScreen(stream, tty3, opts.now ?? Date.now, opts.heartbeatMs ?? 3e4, opts.tickMs ?? 1e3);
  const { line } = screen;
  const mark2 = (s) => s.replace(/^(\s*)([✓✗])/, (_, sp, m) => sp + paint(color, m === "\u2713" ? 32 : 31, m));
  let startedFor;
  return {
    runStart(info, p) {
      screen.setProbe(p);
      if (startedFor === info.reportPath) return;
      startedFor = info.reportPath;
      line(`nixos-rehearse: ${info.flake} (layout ${info.layout})`);
      line(`  report: ${info.reportPath}`);
      line(`  logs:   ${info.logDir}`);
    },
    phaseStart(p) {
      line(paint(color, 1, p.title));
      screen.running(p.title);
    },
    phaseEnd(p) {
      screen.running(void 0);
      if (p.status === "fail") line(mark2(`  \u2717 ${p.title}: failed after ${elapsed(p.durationMs)}`));
    },
    stepStart(s) {
      screen.running(s.id, true);
    },
    stepEnd(s) {
      screen.running(void 0, true);
      line(mark2(progressLine(s)));
      if (s.status === "fail") for (const problem of s.problems ?? []) line(`      ${problem}`);
    },
    check(c3) {
      line(mark2(`  ${c3.status === "pass" ? "\u2713" : "\u2717"} ${c3.id.padEnd(26)} ${c3.summary}`));
    },
    info(text) {
      line(mark2(text));
    },
    warn(text) {
      line(`${paint(color, 33, "warning:")} ${text}`);
    },
    runEnd(report, reportPath) {
      screen.stop();
      runEndLines(report, reportPath, color).forEach((l) => stream.write(`${l}
`));
    }
  };
}
function runEndLines(report, reportPath, color = false) {
  const pass2 = report.result === "pass";
  const out2 = [`${paint(color, pass2 ? 32 : 31, pass2 ? "PASS" : "FAIL")} ${report.flake} (layout ${report.layout}) in ${elapsed(report.durationMs)}`];
  const diagnoses = (report.diagnosis ?? []).slice(0, 3);
  for (const d of diagnoses) out2.push(`  ${d.symptom}`, `    cause: ${d.cause}`, `    fix:   ${d.fix}`);
  if ((report.diagnosis?.length ?? 0) > diagnoses.length) out2.push(`  \u2026 and ${report.diagnosis.length - diagnoses.length} more in the report`);
  const message = report.error?.message;
  if (!pass2 && message && !diagnoses.length) out2.push(`  error: ${message.split("\n")[0]}`);
  out2.push(`report: ${reportPath}`);
  return out2;
}

// src/cli/run.ts
function rehearsalOptions(o2) {
  return {
    iso: o2.iso,
    sha256: o2.sha256,
    flake: o2.flake,
    layout: o2.layout,
    diskSize: diskSize("--disk-size", o2.diskSize),
    memoryMiB: wholeNumber("--memory", o2.memory, LIMITS.memoryMiB),
    cpus: wholeNumber("--cpus", o2.cpus, LIMITS.cpus),
    accel: o2.accel,
    network: o2.network,
    networkAllow: o2.networkAllow,
    outDir: o2.out,
    keep: o2.keep,
    rebuild: o2.rebuild,
    phaseTimeoutMinutes: o2.phaseTimeout === void 0 ? void 0 : wholeNumber("--phase-timeout", o2.phaseTimeout, LIMITS.phaseTimeoutMinutes),
    fault: o2.injectFault,
    reuseInstaller: o2.reuseInstaller,
    saveInstalled: o2.keepInstalled,
    installed: o2.fromInstalled,
    upgradeFrom: o2.upgradeFrom
  };
}
async function rehearse(o2, stream = process.stderr) {
  const opts = rehearsalOptions(o2);
  const result = await runRehearsal({ ...opts, reporters: [terminalReporter({ stream })] });
  if (o2.json) process.stdout.write(readFileSync16(result.reportPath, "utf8"));
  return runExitCode(result);
}
function runExitCode(result) {
  const { report } = result;
  if (report.result === "pass") return EXIT.pass;
  return report.error ? exitCodeFor(report.error) : EXIT.red;
}

// src/cli.ts
var program2 = new Command();
program2.name("nixos-rehearse").description("Rehearse a NixOS install, reboot, upgrade and rollback in a throw-away UEFI VM.").version("0.1.0").exitOverride().configureOutput({ writeErr: (s) => process.stderr.write(s) }).showHelpAfterError("(nixos-rehearse --help shows the usage)").addHelpText("after", HELP_AFTER);
program2.command("doctor").description("check QEMU, qemu-img, OVMF and the accelerator; exits 3 with a fix when something is missing").option("--json", "print the report as JSON").addOption(new Option("--accel <accel>", "accelerator to check").choices(["auto", "kvm", "tcg"]).default("auto")).action(async (opts) => {
  const r = await doctor(opts.accel);
  process.stdout.write(opts.json ? `${JSON.stringify(r, null, 2)}
` : `${renderDoctor(r)}
`);
  process.exitCode = r.ok ? EXIT.pass : EXIT.hostNotReady;
});
var accelOption = () => new Option("--accel <accel>", "accelerator").choices(["auto", "kvm", "tcg"]).default("auto");
var layoutOption = () => new Option("--layout <layout>", "disk layout").choices(LAYOUTS).default("zfs");
var jsonOption = () => new Option("--json", "print report.json on stdout when the run ends (progress stays on stderr)");
var phaseTimeoutOption = () => new Option("--phase-timeout <minutes>", `fail a phase (boot, install, reboot, verify, \u2026) that takes longer than this many minutes, and stop its VM (default ${DEFAULT_PHASE_TIMEOUT_MINUTES}, at most ${LIMITS.phaseTimeoutMinutes.max})`);
var reuseOptions = (c3) => c3.option("--reuse-installer", "restore the installer booted once and saved in the cache (~/.cache/nixos-rehearse/installer-states) instead of booting the ISO each run; made on first use").option("--keep-installed <dir>", "keep the installed system (its disks as the install left them, EFI variables, this run's key) in DIR for --from-installed; the run goes on over overlays").option("--from-installed <dir>", "skip the installer and the install: boot the installed system kept by --keep-installed (overlays, never changed), run the checks, then rebuild to --flake (which may differ from the kept configuration: the rebuild then rehearses that change) and roll back");
var faultOption = () => new Option("--inject-fault <fault>", `inject a fault on purpose to see a red run and its diagnosis: ${Object.entries(FAULTS2).map(([k, v]) => `${k} (${v})`).join("; ")}`).choices(Object.keys(FAULTS2));
var run = program2.command("run").description("rehearse a NixOS install from an installer ISO: the runbook's Tasks 1\u201313 on throw-away NVMe disks, a reboot from disk, the checks of Tasks 13\u201318, a rebuild and both rollbacks; writes DIR/report.json").option("--iso <path|url>", "the NixOS installer ISO (a path, or an https:// URL with --sha256 or a .sha256 file next to it)", DEFAULT_ISO).option("--sha256 <hex>", "the ISO's sha256; a mismatch stops the run before anything boots").requiredOption("--flake <dir#host>", "the configuration to install: a local flake directory and its nixosConfigurations host").option("--upgrade-from <dir#host>", "upgrade mode: install this base configuration (e.g. a checkout of your main branch) first, then upgrade to --flake the safe way (build, switch, verify), reboot into it, check it, and roll back to the base in place and at boot; the report shows what changed").addOption(layoutOption()).option("--disk-size <size>", "size of each virtual NVMe disk", "20G").option("--memory <MiB>", "guest memory in MiB (both VMs)", String(DEFAULT_MEMORY_MIB)).option("--cpus <n>", "guest CPUs", "2").addOption(accelOption()).addOption(new Option("--network <what>", "what the VMs may reach: internet (the public internet only, through the run's HTTP proxy: a real install needs the binary cache; never this host's loopback, its private networks or link-local addresses) or none (nothing: for configurations that build offline)").choices(["internet", "none"]).default("internet")).option("--network-allow <address...>", "with --network internet, also let the VMs reach these addresses or ADDRESS/PREFIX blocks (a private binary cache on your network)").option("--out <dir>", "where report.json and the serial logs go", "nixos-rehearse-out").option("--keep", "keep the VM work directory (disks, EFI vars) after the run").option("--no-rebuild", "after the reboot and the checks, skip the rebuild and the rollbacks").addOption(jsonOption()).addOption(phaseTimeoutOption()).addOption(faultOption());
reuseOptions(run).action(async (o2) => {
  process.exitCode = await rehearse(o2);
});
var demo = program2.command("demo").description("build (or reuse) the fixture installer ISO and its flake, then run exactly the `run` path on them").addOption(layoutOption()).addOption(accelOption()).option("--out <dir>", "where report.json and the serial logs go", "nixos-rehearse-out").option("--keep", "keep the VM work directory after the run").option("--no-rebuild", "skip the rebuild and the rollbacks").option("--upgrade", "upgrade mode: install the fixture's flake as the base, then upgrade to a copy of it changed the way a pull request would (demo-upgrade.ts)").addOption(jsonOption()).addOption(phaseTimeoutOption()).addOption(faultOption());
reuseOptions(demo).action(async (o2) => {
  const notReady = hostNotReady();
  if (notReady) throw notReady;
  const fx = await buildFixture({ log: (s) => process.stderr.write(`[fixture] ${s}
`) });
  process.stderr.write(`fixture ISO: ${fx.iso}
`);
  const { upgrade, ...flags } = o2;
  const target = upgrade ? pullRequestFlake(fx.flake) : void 0;
  try {
    process.exitCode = await rehearse({ ...flags, iso: fx.iso, flake: `${target ?? fx.flake}#server`, upgradeFrom: target ? `${fx.flake}#server` : void 0, diskSize: "8G", memory: String(DEFAULT_MEMORY_MIB), cpus: "2", network: "none" });
  } finally {
    if (target) rmSync12(target, { recursive: true, force: true });
  }
});
program2.command("engine-demo", { hidden: true }).description("boot the engine demo guest (a Debian kernel + busybox, from Debian packages) through OVMF with two NVMe disks, run commands on it, reboot it, tear it down").addOption(accelOption()).option("--keep", "keep the work directory (disks, EFI vars) after the run").option("--log-dir <dir>", "where the serial/control transcripts and qemu.log go", "nixos-rehearse-out/logs").action(async (opts) => {
  process.exitCode = await runEngineDemo(opts);
});
var fixture = program2.command("fixture", { hidden: true }).description("the fixture installer: a NixOS-shaped installer ISO built from Debian packages, for testing without the real ISO");
fixture.command("build").description("build the fixture ISO (or reuse it from the cache, keyed by its inputs) and print its manifest").option("--out <dir>", "write the ISO, its manifest and the fixture flake here instead of the cache").option("--refresh", "rebuild even when the cache holds a build of the same inputs").action(async (opts) => {
  const started = Date.now();
  const m = await buildFixture({ out: opts.out, refresh: opts.refresh, log: (s) => process.stderr.write(`[fixture] ${s}
`) });
  process.stderr.write(`[fixture] ${m.iso} (${(m.isoBytes / 2 ** 20).toFixed(0)} MiB) ready in ${((Date.now() - started) / 1e3).toFixed(1)} s
`);
  process.stdout.write(`${JSON.stringify(m, null, 2)}
`);
});
try {
  await program2.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    process.exitCode = e.exitCode === 0 ? EXIT.pass : EXIT.usage;
  } else {
    process.stderr.write(`nixos-rehearse: ${e?.message ?? String(e)}
`);
    process.exitCode = exitCodeFor(e);
  }
}
