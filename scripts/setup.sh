# Sourced by run.sh and test.sh: makes .venv with requirements.txt installed
# and activates it. Reinstalls only when requirements.txt has changed.

venv_dir="${PMU_VENV:-.venv}"
python_bin="${PYTHON:-python3}"

if [ ! -x "$venv_dir/bin/python" ]; then
    echo "Creating the virtual environment in $venv_dir ..." >&2
    if ! "$python_bin" -m venv "$venv_dir"; then
        echo "Could not create a virtual environment with $python_bin." >&2
        echo "On Debian or Ubuntu: apt-get install python3-venv" >&2
        exit 1
    fi
fi

stamp="$venv_dir/.requirements.sha256"
wanted="$(sha256sum requirements.txt | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    echo "Installing the requirements ..." >&2
    "$venv_dir/bin/python" -m pip install --quiet --upgrade pip
    "$venv_dir/bin/python" -m pip install --quiet -r requirements.txt
    echo "$wanted" > "$stamp"
fi

# shellcheck disable=SC1091
. "$venv_dir/bin/activate"
