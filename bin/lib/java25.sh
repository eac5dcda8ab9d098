# shellcheck shell=bash
# Sourced by ./mvnw and bin/vsnic: makes JAVA_HOME point at a JDK 25 or newer.
# Order: $JAVA_HOME if it is 25+, the `java` on PATH if it is 25+, then the
# newest JDK 25+ under /usr/lib/jvm. Otherwise one clear line and exit 1.

vsnic_java_feature() { # prints the feature release of the java binary $1, or 0
  local v
  v=$("$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = //p' | head -n1)
  case "$v" in
    1.*) echo 1 ;;
    ''|*[!0-9]*) echo 0 ;;
    *) echo "$v" ;;
  esac
}

vsnic_select_java() {
  local candidate
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ] \
      && [ "$(vsnic_java_feature "$JAVA_HOME/bin/java")" -ge 25 ]; then
    export JAVA_HOME
    return 0
  fi
  if command -v java >/dev/null 2>&1 && [ "$(vsnic_java_feature java)" -ge 25 ]; then
    JAVA_HOME=$(cd "$(dirname "$(readlink -f "$(command -v java)")")/.." && pwd)
    export JAVA_HOME
    return 0
  fi
  for candidate in /usr/lib/jvm/temurin-25-jdk-amd64 $(find /usr/lib/jvm -mindepth 1 -maxdepth 1 2>/dev/null | sort -rV); do
    if [ -x "$candidate/bin/java" ] && [ -x "$candidate/bin/javac" ] \
        && [ "$(vsnic_java_feature "$candidate/bin/java")" -ge 25 ]; then
      JAVA_HOME=$candidate
      export JAVA_HOME
      return 0
    fi
  done
  echo "vsnic needs Java 25 (JDK): none found in JAVA_HOME, on PATH or under /usr/lib/jvm; install Temurin 25 (apt-get install temurin-25-jdk from the Adoptium repository) or set JAVA_HOME to a JDK 25." >&2
  exit 1
}

vsnic_select_java
export PATH="$JAVA_HOME/bin:$PATH"
