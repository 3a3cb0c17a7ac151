// The index: a room name (random by default, or ?room=) and a name (remembered), and links to
// the four pages that carry both, so a click joins at once (each page asks when they are missing).
const $ = (id) => document.getElementById(id);
const WORDS = [['quiet', 'brisk', 'sunny', 'clever', 'gentle', 'lucky', 'bold', 'calm'], ['otter', 'heron', 'fox', 'lynx', 'panda', 'robin', 'koala', 'orca']];
const pick = (list) => list[Math.floor(Math.random() * list.length)];
const randomRoom = () => `${pick(WORDS[0])}-${pick(WORDS[1])}-${10 + Math.floor(Math.random() * 90)}`;

const room = $('room');
const name = $('name');
room.value = new URLSearchParams(location.search).get('room') || randomRoom();
name.value = localStorage.getItem('roomsync.name') || '';

function update() {
  const ok = room.checkValidity();
  const q = new URLSearchParams({ room: room.value.trim() });
  if (name.value.trim()) q.set('name', name.value.trim());
  for (const a of document.querySelectorAll('.app')) {
    a.href = `${a.dataset.page}?${q}`;
    a.classList.toggle('disabled', !ok);
    a.toggleAttribute('aria-disabled', !ok);
  }
}
room.addEventListener('input', update);
name.addEventListener('input', () => {
  if (name.value.trim()) localStorage.setItem('roomsync.name', name.value.trim().slice(0, 40));
  update();
});
$('shuffle').addEventListener('click', () => { room.value = randomRoom(); update(); });
$('room-form').addEventListener('submit', (e) => {
  e.preventDefault();
  if (room.checkValidity()) location.href = $('to-chat').href;
});
document.querySelector('.apps').addEventListener('click', (e) => {
  if (e.target.closest('.app.disabled')) { e.preventDefault(); room.reportValidity(); }
});
update();
