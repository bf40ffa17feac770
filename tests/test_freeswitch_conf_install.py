"""``ivr freeswitch-conf install`` puts our configuration into a stock FreeSWITCH, once."""

from pathlib import Path

import pytest

from ivr.cli import main
from ivr.freeswitch.conf_install import ConfInstallError, install_conf

STOCK_VARS = """<include>
  <X-PRE-PROCESS cmd="set" data="default_password=1234"/>
  <X-PRE-PROCESS cmd="set" data="domain=$${local_ip_v4}"/>
</include>
"""
STOCK_DOMAIN = """<include>
  <domain name="$${domain}">
    <groups>
      <group name="default">
        <users><X-PRE-PROCESS cmd="include" data="default/*.xml"/></users>
      </group>
    </groups>
  </domain>
</include>
"""
STOCK_USER = """<include>
  <user id="1001"><params><param name="password" value="$${default_password}"/></params></user>
</include>
"""


@pytest.fixture
def stock(tmp_path: Path) -> Path:
    conf = tmp_path / "etc" / "freeswitch"
    (conf / "directory" / "default").mkdir(parents=True)
    (conf / "vars.xml").write_text(STOCK_VARS)
    (conf / "directory" / "default.xml").write_text(STOCK_DOMAIN)
    (conf / "directory" / "default" / "1001.xml").write_text(STOCK_USER)
    return conf


def test_install_sets_the_password_controller_sounds_and_includes(stock, tmp_path):
    sounds = tmp_path / "sounds"
    report = install_conf(stock, sounds, esl_password="s3cret", controller="127.0.0.1:9000")

    assert 'value="s3cret"' in (stock / "autoload_configs/event_socket.conf.xml").read_text()
    ivr_vars = (stock / "vars_ivr.xml").read_text()
    assert 'data="ivr_controller=127.0.0.1:9000"' in ivr_vars
    assert f'data="ivr_sounds_dir={sounds}"' in ivr_vars
    vars_xml = (stock / "vars.xml").read_text()
    assert vars_xml.rstrip().endswith('data="vars_ivr.xml"/>\n</include>')
    assert "default_password=1234" not in vars_xml
    assert 'data="ivr_groups/*.xml"' in (stock / "directory/default.xml").read_text()
    assert "XML default" in (stock / "dialplan/public/00_ivr_controller.xml").read_text()
    assert (sounds / "music/8000/ivr-hold.wav").is_file()
    assert (sounds / "en/8000/ivr-fallback.wav").is_file()
    assert set(report.agent_passwords) == {"1001", "1002"}
    assert report.agent_passwords["1001"] in (stock / "directory/default/1001.xml").read_text()
    assert (stock.parent / "freeswitch.before-ivr" / "vars.xml").read_text() == STOCK_VARS


def test_installing_again_without_a_password_keeps_the_one_installed(stock, tmp_path):
    first = install_conf(stock, tmp_path / "sounds")
    socket_conf = stock / "autoload_configs/event_socket.conf.xml"
    assert first.esl_password_made and first.event_socket_changed
    assert f'value="{first.esl_password_made}"' in socket_conf.read_text()

    again = install_conf(stock, tmp_path / "sounds")

    assert again.esl_password_made == "" and not again.event_socket_changed
    assert f'value="{first.esl_password_made}"' in socket_conf.read_text()


def test_a_well_known_password_installed_before_is_replaced_when_none_is_given(stock, tmp_path):
    install_conf(stock, tmp_path / "sounds", esl_password="ClueCon")

    again = install_conf(stock, tmp_path / "sounds")

    assert again.esl_password_made and again.event_socket_changed
    socket_conf = (stock / "autoload_configs/event_socket.conf.xml").read_text()
    assert 'value="ClueCon"' not in socket_conf


def test_installing_twice_changes_nothing_and_keeps_the_agents_passwords(stock, tmp_path):
    first = install_conf(stock, tmp_path / "sounds", esl_password="s3cret")
    user = (stock / "directory/default/1001.xml").read_text()

    again = install_conf(stock, tmp_path / "sounds", esl_password="s3cret")

    assert first.changes and again.changes == []
    assert again.agent_passwords == {}
    assert (stock / "directory/default/1001.xml").read_text() == user
    assert (stock / "vars.xml").read_text().count("vars_ivr.xml") == 1


def test_the_well_known_password_is_installed_with_a_warning(stock, tmp_path):
    report = install_conf(stock, tmp_path / "sounds", esl_password="ClueCon")

    assert any("well known" in warning for warning in report.warnings)


def test_a_folder_without_vars_xml_is_refused_naming_what_is_missing(tmp_path):
    with pytest.raises(ConfInstallError, match="has no vars.xml"):
        install_conf(tmp_path, tmp_path / "sounds", esl_password="s3cret")


def test_a_password_that_would_break_the_xml_is_refused(stock, tmp_path):
    with pytest.raises(ConfInstallError, match="without quotes"):
        install_conf(stock, tmp_path / "sounds", esl_password='a"b')


def test_the_command_prints_what_it_did_and_the_generated_password(stock, tmp_path, capsys):
    prefix = stock.parent.parent
    (prefix / "share").mkdir()

    assert main(["freeswitch-conf", "install", "--prefix", str(prefix)]) == 0

    out = capsys.readouterr().out
    assert "included vars_ivr.xml" in out
    password = out.split("event-socket password: ")[1].split()[0]
    socket_conf = (stock / "autoload_configs/event_socket.conf.xml").read_text()
    assert f'value="{password}"' in socket_conf
    assert (prefix / "share/freeswitch/sounds/ivr/music/16000/ivr-hold.wav").is_file()


def test_the_command_without_a_freeswitch_says_how_to_name_one(capsys):
    assert main(["freeswitch-conf", "install"]) == 2

    assert "--prefix DIR, or --conf-dir DIR and --sounds-dir DIR" in capsys.readouterr().err


def test_the_dialplan_hands_over_the_tenants_numbers_of_the_flows_named(stock, tmp_path, capsys):
    prefix = stock.parent.parent
    (prefix / "share").mkdir()
    flows = Path(__file__).resolve().parent.parent / "flows"

    assert main(["freeswitch-conf", "install", "--prefix", str(prefix), "--flows", str(flows)]) == 0

    out = capsys.readouterr().out
    numbers = "18005550100, 18005550142, 18005550199"
    assert f"service numbers handed to the controller: {numbers}" in out
    dialplan = (stock / "dialplan/default/00_ivr_controller.xml").read_text()
    assert 'expression="^(18005550100|18005550142|18005550199)$"' in dialplan


def test_a_service_number_that_is_no_number_is_refused(stock, tmp_path):
    with pytest.raises(ConfInstallError, match=r"service number '1800\|x'"):
        install_conf(stock, tmp_path / "sounds", esl_password="s3cret", numbers=["1800|x"])
